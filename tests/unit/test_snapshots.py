# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bind mover's snapshots (roles/bind/files/mover/snapshots.py) with a real local rsync under tmp_path, and the
sender's schedule (mover.py: due, snapshot_policy)."""

import calendar
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

MOVER_DIR = Path(__file__).resolve().parents[2] / "roles" / "bind" / "files" / "mover"
sys.path.insert(0, str(MOVER_DIR))  # mover.py imports its siblings fence.py and snapshots.py
sys.dont_write_bytecode = True  # no __pycache__ in the image's build files

needs_rsync = pytest.mark.skipif(not shutil.which("rsync"), reason="rsync is not installed")


@pytest.fixture
def snapshots(load_source):
    return load_source("mover_snapshots_under_test", MOVER_DIR / "snapshots.py")


@pytest.fixture
def mover(tmp_path, monkeypatch, load_source):
    monkeypatch.setenv("MOVER_STATE_DIR", str(tmp_path / "state"))
    return load_source("mover_under_test", MOVER_DIR / "mover.py")


@pytest.fixture
def tree(tmp_path):
    """/data, /snapshots and /diverged under tmp_path, with a namespace wiki in /data."""
    paths = {k: tmp_path / k for k in ("data", "snapshots", "diverged")}
    for p in paths.values():
        p.mkdir()
    live = paths["data"] / "wiki"
    (live / "sub").mkdir(parents=True)
    (live / "same").write_bytes(b"unchanged " * 100)
    (live / "changes").write_bytes(b"v1")
    (live / "sub" / "deep").write_bytes(b"deep")
    (live / ".swarmdata-id").write_text("8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11\n")
    paths["live"] = live
    return paths


def args(tree):
    return {"data": str(tree["data"]), "root": str(tree["snapshots"])}


def inodes(top):
    """{relative path: inode} of every file under ``top``."""
    found = {}
    for directory, _dirs, files in os.walk(top):
        for f in files:
            path = os.path.join(directory, f)
            found[os.path.relpath(path, top)] = os.lstat(path).st_ino
    return found


def contents(top):
    found = {}
    for directory, _dirs, files in os.walk(top):
        for f in files:
            path = os.path.join(directory, f)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, top)] = handle.read()
    return found


T0 = calendar.timegm((2026, 3, 1, 12, 0, 0))


# ------------------------------------------------------------------------------ names, stamps, retention

def test_stamp_and_snapshot_time(snapshots):
    assert snapshots.stamp(0) == "19700101T000000Z"
    assert snapshots.stamp(T0) == "20260301T120000Z"
    assert snapshots.snapshot_time("20260301T120000Z") == T0
    assert snapshots.snapshot_time("20260301T120000Z-3") == T0
    assert snapshots.NAME_RE.match(snapshots.stamp())


@pytest.mark.parametrize("existing, keep, expected", [
    (["a", "b", "c"], 2, ["a"]),
    (["c", "a", "b"], 1, ["a", "b"]),  # oldest first, whatever the order given
    (["a", "b"], 2, []),
    (["a"], 5, []),
    ([], 3, []),
    (["20260301T120000Z", "20260301T120000Z-2", "20260302T000000Z"], 1, ["20260301T120000Z", "20260301T120000Z-2"]),
])
def test_expired_keeps_the_newest(snapshots, existing, keep, expected):
    assert snapshots.expired(existing, keep) == expected


def test_expired_does_not_modify_its_input(snapshots):
    existing = ["c", "a", "b"]
    snapshots.expired(existing, 1)
    assert existing == ["c", "a", "b"]


def test_names_sorted_oldest_first_and_filtered(snapshots, tmp_path):
    directory = tmp_path / "wiki"
    directory.mkdir()
    for name in ("20260302T000000Z", "20260301T120000Z-2", "20260301T120000Z", ".partial-20260303T000000Z",
                 "junk", "20260301T120000Z-x", "20260301T120000", "x20260301T120000Z"):
        (directory / name).mkdir()
    assert snapshots.names("wiki", str(tmp_path)) == ["20260301T120000Z", "20260301T120000Z-2", "20260302T000000Z"]


def test_names_of_a_namespace_without_snapshots(snapshots, tmp_path):
    assert snapshots.names("wiki", str(tmp_path)) == []
    assert snapshots.names("wiki", str(tmp_path / "missing")) == []


# ------------------------------------------------------------------------------ take

@needs_rsync
def test_take_two_snapshots_link_what_did_not_change(snapshots, tree):
    first = snapshots.take("wiki", 5, now=T0, **args(tree))
    assert first["namespace"] == "wiki" and first["snapshot"] == "20260301T120000Z" and first["time"] == T0
    assert first["previous"] is None and first["removed"] == [] and first["count"] == 1
    assert first["bytes_copied"] == 1000 + 2 + 4 + 37
    (tree["live"] / "changes").write_bytes(b"version 2")  # another size: rsync's quick check sees it
    (tree["live"] / "new").write_bytes(b"new")
    second = snapshots.take("wiki", 5, now=T0 + 3600, **args(tree))
    assert second["snapshot"] == "20260301T130000Z" and second["previous"] == "20260301T120000Z"
    assert second["count"] == 2 and second["removed"] == []
    assert second["bytes_copied"] == len(b"version 2") + len(b"new")

    base = tree["snapshots"] / "wiki"
    one, two = inodes(base / first["snapshot"]), inodes(base / second["snapshot"])
    # Unchanged files are hard links between the two snapshots; a changed file is a copy of its own.
    assert one["same"] == two["same"] and one["sub/deep"] == two["sub/deep"]
    assert one[".swarmdata-id"] == two[".swarmdata-id"]
    assert one["changes"] != two["changes"]
    assert "new" not in one and "new" in two
    # The live tree shares no inode with a snapshot: in-place writes there never reach a snapshot.
    live = inodes(tree["live"])
    assert not set(live.values()) & (set(one.values()) | set(two.values()))
    # Each snapshot holds the tree as it was.
    assert contents(base / first["snapshot"])["changes"] == b"v1"
    assert contents(base / second["snapshot"]) == contents(tree["live"])
    # Its top directory is read-only; no partial copy is left behind.
    for name in (first["snapshot"], second["snapshot"]):
        assert stat.S_IMODE(os.stat(base / name).st_mode) == 0o555
    assert sorted(os.listdir(base)) == [first["snapshot"], second["snapshot"]]


@needs_rsync
def test_take_retention_removes_the_oldest_beyond_keep(snapshots, tree):
    taken = [snapshots.take("wiki", 2, now=T0 + i * 60, **args(tree)) for i in range(4)]
    assert [t["removed"] for t in taken] == [[], [], ["20260301T120000Z"], ["20260301T120100Z"]]
    assert [t["count"] for t in taken] == [1, 2, 2, 2]
    assert snapshots.names("wiki", str(tree["snapshots"])) == ["20260301T120200Z", "20260301T120300Z"]
    # The kept ones are whole, though the one they were linked from is gone.
    assert contents(tree["snapshots"] / "wiki" / "20260301T120200Z") == contents(tree["live"])


@needs_rsync
def test_take_twice_in_the_same_second(snapshots, tree):
    first = snapshots.take("wiki", 5, now=T0, **args(tree))
    second = snapshots.take("wiki", 5, now=T0, **args(tree))
    third = snapshots.take("wiki", 5, now=T0, **args(tree))
    assert [first["snapshot"], second["snapshot"], third["snapshot"]] == [
        "20260301T120000Z", "20260301T120000Z-2", "20260301T120000Z-3"]
    assert second["previous"] == "20260301T120000Z" and third["previous"] == "20260301T120000Z-2"
    assert all(t["time"] == T0 for t in (first, second, third))


@needs_rsync
def test_take_a_missing_namespace_fails_and_leaves_nothing(snapshots, tree):
    with pytest.raises(RuntimeError, match="rsync exit"):
        snapshots.take("db", 5, now=T0, **args(tree))
    assert os.listdir(tree["snapshots"] / "db") == []


@needs_rsync
def test_take_replaces_a_partial_copy_left_by_a_crash(snapshots, tree):
    partial = tree["snapshots"] / "wiki" / ".partial-20260301T120000Z"
    (partial / "sub").mkdir(parents=True)
    (partial / "stale").write_bytes(b"stale")
    os.chmod(partial / "sub", 0o555)
    result = snapshots.take("wiki", 5, now=T0, **args(tree))
    assert os.listdir(tree["snapshots"] / "wiki") == [result["snapshot"]]
    assert "stale" not in contents(tree["snapshots"] / "wiki" / result["snapshot"])


# ------------------------------------------------------------------------------ promote

@needs_rsync
def test_promote_latest_moves_what_it_replaces_aside(snapshots, tree):
    snapshots.take("wiki", 5, now=T0, **args(tree))
    latest = snapshots.take("wiki", 5, now=T0 + 60, **args(tree))["snapshot"]
    held = contents(tree["snapshots"] / "wiki" / latest)
    # Since the snapshot the live copy changed a file, gained one, lost one.
    (tree["live"] / "changes").write_bytes(b"written after the snapshot")
    (tree["live"] / "extra").write_bytes(b"only in the live copy")
    (tree["live"] / "sub" / "deep").unlink()
    before = contents(tree["live"])

    result = snapshots.promote("wiki", "latest", "20260301T130000Z", diverged=str(tree["diverged"]), **args(tree))
    aside = tree["diverged"] / "wiki" / "20260301T130000Z-promote"
    assert result["namespace"] == "wiki" and result["from"] == latest and result["snapshot"] == latest
    assert result["moved_aside"] == 2 and result["aside"] == str(aside)
    assert contents(tree["live"]) == held
    assert contents(aside) == {"changes": b"written after the snapshot", "extra": b"only in the live copy"}
    # Nothing is lost: every version the live copy held is in it now or in the aside directory.
    for rel, data in before.items():
        assert contents(tree["live"]).get(rel) == data or contents(aside).get(rel) == data
    # The promoted copy is the live copy's own, not links into the snapshot.
    assert not set(inodes(tree["live"]).values()) & set(inodes(tree["snapshots"] / "wiki" / latest).values())


@needs_rsync
def test_promote_a_named_snapshot(snapshots, tree):
    first = snapshots.take("wiki", 5, now=T0, **args(tree))["snapshot"]
    (tree["live"] / "changes").write_bytes(b"version 2")
    snapshots.take("wiki", 5, now=T0 + 60, **args(tree))
    result = snapshots.promote("wiki", first, "S", diverged=str(tree["diverged"]), **args(tree))
    assert result["from"] == first and result["moved_aside"] == 1
    assert (tree["live"] / "changes").read_bytes() == b"v1"
    assert (tree["diverged"] / "wiki" / "S-promote" / "changes").read_bytes() == b"version 2"


@needs_rsync
def test_promote_an_unchanged_copy_moves_nothing_aside(snapshots, tree):
    snapshots.take("wiki", 5, now=T0, **args(tree))
    result = snapshots.promote("wiki", "latest", "S", diverged=str(tree["diverged"]), **args(tree))
    assert result["moved_aside"] == 0 and result["aside"] is None
    assert not (tree["diverged"] / "wiki" / "S-promote").exists()


@needs_rsync
def test_promote_keeps_the_live_directory_mode(snapshots, tree):
    os.chmod(tree["live"], 0o750)
    snapshots.take("wiki", 5, now=T0, **args(tree))
    snapshots.promote("wiki", "latest", "S", diverged=str(tree["diverged"]), **args(tree))
    assert stat.S_IMODE(os.stat(tree["live"]).st_mode) == 0o750


def test_promote_live_does_nothing(snapshots, tree):
    before = contents(tree["live"])
    result = snapshots.promote("wiki", "live", "S", diverged=str(tree["diverged"]), **args(tree))
    assert result == {"namespace": "wiki", "from": "live", "snapshot": None, "moved_aside": 0, "aside": None}
    assert contents(tree["live"]) == before and os.listdir(tree["diverged"]) == []


def test_promote_without_a_snapshot_is_refused(snapshots, tree):
    with pytest.raises(RuntimeError, match="namespace wiki has no snapshot on this node; use from=live"):
        snapshots.promote("wiki", "latest", "S", diverged=str(tree["diverged"]), **args(tree))
    with pytest.raises(RuntimeError, match=r"has no snapshot '20260301T120000Z' on this node \(it has: none\)"):
        snapshots.promote("wiki", "20260301T120000Z", "S", diverged=str(tree["diverged"]), **args(tree))


@needs_rsync
def test_promote_an_unknown_snapshot_names_the_ones_there(snapshots, tree):
    name = snapshots.take("wiki", 5, now=T0, **args(tree))["snapshot"]
    with pytest.raises(RuntimeError, match=r"has no snapshot '../x' on this node \(it has: %s\)" % name):
        snapshots.promote("wiki", "../x", "S", diverged=str(tree["diverged"]), **args(tree))


# ------------------------------------------------------------------------------ failback: diverged paths, aside

ITEMIZED = """\
*deleting   a/b
*deleting   gone/
>f.st...... changed
<f..t...... touched
>f+++++++++ new
cd+++++++++ newdir/
.f...p..... attrs
.d..t...... sub/
cL..T...... link -> elsewhere
cL+++++++++ newlink -> x
>fcs....... checksum
hf+++++++++ hardlink => same
"""


def test_diverged_paths_only_deleted_and_changed(snapshots):
    assert snapshots.diverged_paths(ITEMIZED) == ["a/b", "gone/", "changed", "touched", "link", "checksum"]


def test_diverged_paths_of_the_brief_sample(snapshots):
    # rsync's "%i %n": "*deleting" padded to 11 characters, a space, the name.
    sample = "*deleting   a/b\n>f.st...... changed\n>f+++++++++ new\n.f...p..... attrs\n"
    assert snapshots.diverged_paths(sample) == ["a/b", "changed"]


def test_diverged_paths_nothing(snapshots):
    assert snapshots.diverged_paths("") == []
    assert snapshots.diverged_paths("sending incremental file list\n\nsent 10 bytes\n") == []


def test_aside_hard_links_the_paths_and_counts_bytes(snapshots, tree):
    (tree["live"] / "sub" / "inner").mkdir()
    (tree["live"] / "sub" / "inner" / "f").write_bytes(b"12345")
    (tree["live"] / "ln").symlink_to("same")
    paths = ["changes", "sub/deep", "sub/inner/", "sub/inner/f", "ln", "sub/../changes"]
    result = snapshots.aside("wiki", paths, "S", data=str(tree["data"]), diverged=str(tree["diverged"]))
    dest = tree["diverged"] / "wiki" / "S"
    assert result == {"namespace": "wiki", "aside": str(dest), "files": 4,
                      "bytes": 2 + 4 + 5 + os.lstat(tree["live"] / "ln").st_size}
    for rel in ("changes", "sub/deep", "sub/inner/f"):
        assert os.stat(dest / rel).st_ino == os.stat(tree["live"] / rel).st_ino
    # A symlink is linked as itself, never followed.
    assert os.path.islink(dest / "ln") and os.lstat(dest / "ln").st_ino == os.lstat(tree["live"] / "ln").st_ino
    assert (dest / "sub" / "inner").is_dir()
    # Only the listed paths.
    assert sorted(inodes(dest)) == ["changes", "ln", "sub/deep", "sub/inner/f"]


@pytest.mark.parametrize("bad", ["../escape", "/etc/hostname", "missing", " changes"])
def test_aside_fails_loudly_on_a_path_it_cannot_keep(snapshots, tree, bad):
    # Outside the namespace, or not there (a name rsync printed escaped): failback must stop before the push.
    with pytest.raises(RuntimeError):
        snapshots.aside("wiki", ["changes", bad], "S", data=str(tree["data"]), diverged=str(tree["diverged"]))
    assert not (tree["diverged"] / "escape").exists()


def test_aside_twice_keeps_the_first_link(snapshots, tree):
    kw = {"data": str(tree["data"]), "diverged": str(tree["diverged"])}
    assert snapshots.aside("wiki", ["changes"], "S", **kw)["files"] == 1
    again = snapshots.aside("wiki", ["changes"], "S", **kw)
    assert again == {"namespace": "wiki", "aside": None, "files": 0, "bytes": 0}


def test_aside_nothing_to_keep(snapshots, tree):
    result = snapshots.aside("wiki", [], "S", data=str(tree["data"]), diverged=str(tree["diverged"]))
    assert result == {"namespace": "wiki", "aside": None, "files": 0, "bytes": 0}


@needs_rsync
def test_aside_keeps_what_a_push_then_replaces(snapshots, tree, tmp_path):
    """failback's order: the dry run's paths are linked aside, then the push replaces them in the live copy."""
    primary = tmp_path / "primary" / "wiki"
    shutil.copytree(tree["live"], primary)
    (primary / "changes").write_bytes(b"the new primary's version")
    (tree["live"] / "only-here").write_bytes(b"written on the old primary")

    def push(*extra):
        return subprocess.run(["rsync", "--archive", "--delete", "--itemize-changes"] + list(extra)
                              + [str(primary) + "/", str(tree["live"]) + "/"],
                              stdout=subprocess.PIPE, text=True, check=True).stdout

    paths = snapshots.diverged_paths(push("--dry-run"))
    assert sorted(paths) == ["changes", "only-here"]
    kept = snapshots.aside("wiki", paths, "S", data=str(tree["data"]), diverged=str(tree["diverged"]))
    assert kept["files"] == 2
    push()
    assert contents(tree["live"]) == contents(primary)
    assert contents(tree["diverged"] / "wiki" / "S") == {"changes": b"v1", "only-here": b"written on the old primary"}


# ------------------------------------------------------------------------------ main

def test_main_list(snapshots, tmp_path, monkeypatch, capsys):
    (tmp_path / "snapshots" / "wiki" / "20260301T120000Z").mkdir(parents=True)
    monkeypatch.setenv("MOVER_BASE", str(tmp_path))  # the day-2 tasks mount the root there
    snapshots.main(["list", "wiki"])
    assert json.loads(capsys.readouterr().out) == {"namespace": "wiki", "snapshots": ["20260301T120000Z"]}


def test_main_usage(snapshots):
    with pytest.raises(SystemExit, match="usage: mover promote NS FROM STAMP"):
        snapshots.main(["nonsense"])


# ------------------------------------------------------------------------------ the sender's schedule

@pytest.mark.parametrize("latest, interval, now, expected", [
    (0, 900, T0, True),  # none yet
    (T0, 900, T0 + 900, True),
    (T0, 900, T0 + 901, True),
    (T0, 900, T0 + 899, False),
    (T0, 900, T0, False),
    (T0 - 10 ** 6, 0, T0, False),  # interval 0: no scheduled snapshots
    (0, 0, T0, False),
    (0, -5, T0, False),
])
def test_due(mover, latest, interval, now, expected):
    assert mover.due(latest, interval, now) is expected


def test_snapshot_policy_from_the_environment(mover, monkeypatch):
    policy = {"wiki": {"interval": 21600, "keep": 28}, "db": {"interval": 0, "keep": 3}}
    monkeypatch.setenv("MOVER_SNAPSHOTS", json.dumps(policy))
    assert mover.snapshot_policy() == policy


@pytest.mark.parametrize("value", ["", "{not json", None])
def test_snapshot_policy_unset_or_broken_is_none(mover, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("MOVER_SNAPSHOTS", raising=False)
    else:
        monkeypatch.setenv("MOVER_SNAPSHOTS", value)
    assert mover.snapshot_policy() == {}


def test_snapshot_state_path(mover, tmp_path):
    want = tmp_path / "state" / "bind-snapshots" / "node2" / "wiki.json"
    assert mover.snapshot_state_path("node2", "wiki") == str(want)


@needs_rsync
def test_promote_moves_an_unfinished_pushs_partial_directories_aside(snapshots, tree):
    # The old primary died mid-push: rsync --delay-updates left its scratch directories in the replica's copy.
    (tree["live"] / "sub").mkdir(exist_ok=True)
    for where in (tree["live"], tree["live"] / "sub"):
        (where / ".~tmp~").mkdir()
        (where / ".~tmp~" / "half").write_bytes(b"half a file")
    result = snapshots.promote("wiki", "live", "S", data=str(tree["data"]), root=str(tree["snapshots"]),
                               diverged=str(tree["diverged"]))
    assert result["moved_aside"] == 2
    assert not (tree["live"] / ".~tmp~").exists() and not (tree["live"] / "sub" / ".~tmp~").exists()
    assert (tree["diverged"] / "wiki" / "S-promote" / "sub" / ".~tmp~" / "half").read_bytes() == b"half a file"


@needs_rsync
def test_diverged_paths_from_a_real_dry_run_with_hard_links_and_spaces(snapshots, tmp_path):
    """The paths a real rsync dry run prints: a name with a leading space, and a file the push would replace by a
    hard link to another (rsync -H prints "hf ... y => x")."""
    import subprocess

    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    (src / "x").write_bytes(b"primary")
    os.link(src / "x", src / "y")
    (dest / "x").write_bytes(b"primary")
    (dest / "y").write_bytes(b"only on the old copy, longer")
    (dest / " lead").write_bytes(b"old")
    out = subprocess.run(["rsync", "-aHni", "--delete", str(src) + "/", str(dest) + "/"], capture_output=True,
                         text=True, check=True).stdout
    assert sorted(snapshots.diverged_paths(out)) == [" lead", "y"], out
