"""A bind replica's snapshots on a real btrfs filesystem (roles/bind/files/mover/snapshots.py, docs/failover.md):
a loop-mounted btrfs image made here, the namespace a subvolume, the snapshots directory beside it. The mover's
code runs without CAP_SYS_ADMIN, as in a receiver container (setpriv drops it from the bounding set).

Checked: a snapshot is btrfs's own, read-only and instant, and an in-place change of a live file does not reach it
(a hard-link snapshot would share that file's inode); the snapshots share their extents with the live copy;
retention removes the oldest one without CAP_SYS_ADMIN; promote brings the live copy back to a snapshot by
checksum, with what it replaces moved aside; a plain directory, or a snapshots directory on another filesystem,
gets the rsync snapshot instead. Needs root, a loop device and btrfs-progs (scripts/setup.sh installs it)."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
MOVER = os.path.join(ROOT, "roles", "bind", "files", "mover")


def sh(*argv, **kwargs):
    return subprocess.run(list(argv), check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def mover(call):
    """Run ``snapshots.<call>`` in a fresh Python without CAP_SYS_ADMIN; its JSON result."""
    code = "import json, snapshots; print(json.dumps(snapshots.%s))" % call
    proc = subprocess.run(["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", sys.executable, "-c", code],
                          cwd=MOVER, env=dict(os.environ, PYTHONPATH=MOVER), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def sums(path):
    out = {}
    for directory, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(directory, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, path)] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture
def btrfs(tmp_path):
    image, mnt = tmp_path / "btrfs.img", tmp_path / "mnt"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(256 << 20)
    sh("mkfs.btrfs", "-q", str(image))
    sh("mount", "-o", "loop", str(image), str(mnt))  # the loop device goes with the unmount (autoclear)
    try:
        (mnt / "namespaces").mkdir()
        (mnt / "snapshots").mkdir()
        sh("btrfs", "subvolume", "create", str(mnt / "namespaces" / "wiki"))
        live = mnt / "namespaces" / "wiki"
        (live / "pages").mkdir()
        for i in range(50):
            (live / "pages" / ("p%02d.txt" % i)).write_text("page %d\n" % i * 100)
        (live / "big.bin").write_bytes(os.urandom(8 << 20))
        yield mnt
    finally:
        subprocess.run(["umount", "--lazy", str(mnt)], check=False)


def test_a_btrfs_replica_gets_read_only_native_snapshots_that_live_changes_never_reach(btrfs):
    live = str(btrfs / "namespaces" / "wiki")
    first_sums = sums(live)
    first = mover("take('wiki', 2, data=%r, root=%r, now=1)" % (str(btrfs / "namespaces"), str(btrfs / "snapshots")))
    assert first["kind"] == "btrfs" and first["bytes_copied"] == 0, first
    snap = btrfs / "snapshots" / "wiki" / first["snapshot"]
    assert sh("btrfs", "property", "get", "-ts", str(snap), "ro").stdout.strip() == "ro=true"
    assert os.stat(snap).st_ino == 256, "not a subvolume"
    with pytest.raises(OSError):
        (snap / "new.txt").write_text("x")
    # In place, as a database writes: the same inode, changed in the middle. A hard link would carry it along.
    with open(os.path.join(live, "big.bin"), "r+b") as f:
        f.seek(4 << 20)
        f.write(b"changed in place" * 64)
    assert sums(str(snap)) == first_sums
    assert sums(live)["big.bin"] != first_sums["big.bin"]
    # The snapshot shares its extents: all but the one changed extent of big.bin is shared with the live copy.
    du = sh("btrfs", "filesystem", "du", "-s", "--raw", str(snap)).stdout.splitlines()[-1].split()
    total, exclusive = int(du[0]), int(du[1])
    print("\nbtrfs snapshot of %d bytes taken in %.3f s, %d bytes exclusive to it"
          % (total, first["seconds"], exclusive))
    assert total >= 8 << 20 and exclusive < total // 10, du

    second = mover("take('wiki', 2, data=%r, root=%r, now=2)" % (str(btrfs / "namespaces"), str(btrfs / "snapshots")))
    third = mover("take('wiki', 2, data=%r, root=%r, now=3)" % (str(btrfs / "namespaces"), str(btrfs / "snapshots")))
    assert second["kind"] == third["kind"] == "btrfs"
    assert third["removed"] == [first["snapshot"]] and not snap.exists(), third
    assert sorted(os.listdir(btrfs / "snapshots" / "wiki")) == [second["snapshot"], third["snapshot"]]

    # Promote: the live copy back to the newest snapshot, what it replaces moved aside (never deleted).
    newest_sums = sums(str(btrfs / "snapshots" / "wiki" / third["snapshot"]))
    (btrfs / "namespaces" / "wiki" / "pages" / "p00.txt").write_text("written after the snapshot\n")
    (btrfs / "namespaces" / "wiki" / "extra.txt").write_text("only live\n")
    result = mover("promote('wiki', 'latest', 'T', data=%r, root=%r, diverged=%r)"
                   % (str(btrfs / "namespaces"), str(btrfs / "snapshots"), str(btrfs / "diverged")))
    assert result["snapshot"] == third["snapshot"] and result["moved_aside"] == 2, result
    assert sums(live) == newest_sums


def test_a_plain_directory_or_another_filesystem_gets_the_rsync_snapshot(btrfs, tmp_path):
    plain = btrfs / "plain"
    (plain / "docs").mkdir(parents=True)
    (plain / "docs" / "a.txt").write_text("a\n")
    result = mover("take('docs', 1, data=%r, root=%r)" % (str(plain), str(btrfs / "snapshots")))
    assert result["kind"] == "hardlink" and sums(str(btrfs / "snapshots" / "docs" / result["snapshot"])) == sums(
        str(plain / "docs")), result
    elsewhere = tmp_path / "elsewhere"  # the test's temporary directory, not the btrfs image
    result = mover("take('wiki', 1, data=%r, root=%r)" % (str(btrfs / "namespaces"), str(elsewhere)))
    assert result["kind"] == "hardlink", result
    assert sums(str(elsewhere / "wiki" / result["snapshot"])) == sums(str(btrfs / "namespaces" / "wiki"))


def test_namespace_del_makes_btrfs_snapshots_writable_so_they_can_be_deleted(btrfs):
    """playbooks/namespace.yml (action=del) deletes <root>/snapshots/<ns> like ansible.builtin.file state=absent
    (shutil.rmtree); its task before that makes the read-only snapshots writable. Its shell command, rendered as
    Ansible renders it, runs here on real btrfs snapshots."""
    import jinja2
    import shlex
    import shutil

    import yaml

    for now in (1, 2):
        mover("take('wiki', 2, data=%r, root=%r, now=%d)" % (str(btrfs / "namespaces"), str(btrfs / "snapshots"), now))
    snaps = btrfs / "snapshots" / "wiki"
    with pytest.raises(OSError):
        shutil.rmtree(snaps)  # read-only snapshots: nothing can be deleted in them
    assert len(os.listdir(snaps)) == 2
    with open(os.path.join(ROOT, "playbooks", "namespace.yml")) as f:
        plays = yaml.safe_load(f)

    def tasks(items):
        for item in items or []:
            yield item
            yield from tasks(item.get("block"))
            yield from tasks(item.get("tasks"))

    task = next(t for t in tasks(plays) if t.get("name") == "Make its btrfs snapshots writable, so they can be deleted")
    env = jinja2.Environment()
    env.filters["quote"] = shlex.quote
    cmd = env.from_string(task["ansible.builtin.shell"]["cmd"]).render(
        ns_plan={"root": str(btrfs)}, ns_name="wiki")
    out = sh("sh", "-c", cmd).stdout.split()
    assert sorted(os.path.basename(p.rstrip("/")) for p in out) == sorted(os.listdir(snaps))
    shutil.rmtree(snaps)
    assert not snaps.exists()
