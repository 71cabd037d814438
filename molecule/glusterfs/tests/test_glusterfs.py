"""The glusterfs variant on a real 3-node swarm: one replica 3 GlusterFS volume, mounted on every node.

Every wait is bounded; a timeout fails with what still differs.
"""

import os
import shlex
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import testinfra
from helpers import RUNNER, SWARM_HOSTS, assert_variant_change_refused, manifest, recap, run_playbook

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]  # each test drives the lab itself
MOUNT = "/opt/swarmdata/namespaces"
BRICK = "/opt/swarmdata/brick/swarmdata"
VOLUME = "swarmdata"
LAB = os.environ.get("SWARMDATA_LAB_NAME") or "swarmdata-mol"


@pytest.fixture(scope="module")
def nodes():
    hosts = RUNNER.get_hosts(SWARM_HOSTS)
    return dict((h, testinfra.get_host("docker://" + h)) for h in hosts)


def gluster_xml(node, *args):
    out = node.check_output("gluster --mode=script %s --xml" % " ".join(shlex.quote(a) for a in args))
    root = ET.fromstring(out)
    assert root.findtext("opRet") == "0", out
    return root


def heal_pending(node):
    """Pending heal entries over all bricks, or None while a brick cannot be reached."""
    total = 0
    for brick in gluster_xml(node, "volume", "heal", VOLUME, "info").iter("brick"):
        count = brick.findtext("numberOfEntries")
        if not count or not count.strip().isdigit():
            return None
        total += int(count)
    return total


def visible(tree):
    """A manifest without GlusterFS's own bookkeeping (.glusterfs, .glusterfs-anonymous-inode-*)."""
    return dict((k, v) for k, v in tree.items() if not k.startswith(".glusterfs"))


def mount_manifest(node):
    """The volume as this node's own FUSE mount presents it: content, mode, owner, size and mtime.

    Through the mount every node shows the same mtime (features.ctime keeps the times in the volume's own
    metadata); the bricks' on-disk mtimes may differ by a second for a file written across a second boundary.
    """
    return visible(manifest(node, MOUNT))


def content_only(tree):
    """What every brick must hold of each file: type and mode, owner, size and checksum; not the mtime."""
    return dict((k, [mode, uid, gid, size, digest]) for k, (mode, uid, gid, size, _mtime, digest) in tree.items())


def wait_healed(nodes, timeout=300):
    """Wait for 0 pending heal entries, every node's mount presenting the same tree and every brick holding
    every file of it with the same content. Returns the tree the mounts present."""
    names = sorted(nodes)
    deadline = time.time() + timeout
    why = "not checked yet"
    while time.time() < deadline:
        try:
            pending = heal_pending(nodes[names[0]])
            if pending == 0:
                mounts = dict((h, mount_manifest(nodes[h])) for h in names)
                reference = mounts[names[0]]
                differ = [h for h in names if mounts[h] != reference]
                if differ:
                    why = "the mounts of %s differ from %s's: %s" % (
                        ", ".join(differ), names[0], diff_summary(reference, mounts[differ[0]]))
                else:
                    expected = content_only(reference)
                    bricks = dict((h, content_only(visible(manifest(nodes[h], BRICK)))) for h in names)
                    differ = [h for h in names if bricks[h] != expected]
                    if not differ:
                        return reference
                    why = "bricks of %s differ from what the volume presents: %s" % (
                        ", ".join(differ), diff_summary(expected, bricks[differ[0]]))
            else:
                why = "heal pending: %s" % pending
        except (AssertionError, RuntimeError, ValueError, ET.ParseError) as exc:
            why = str(exc)[:300]
        time.sleep(3)
    pytest.fail("not healed after %d s: %s" % (timeout, why))


def diff_summary(expected, actual, limit=5):
    """The first few paths missing, extra or different in ``actual``."""
    missing = sorted(set(expected) - set(actual))[:limit]
    extra = sorted(set(actual) - set(expected))[:limit]
    changed = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])[:limit]
    different = ["%s: %s != %s" % (k, expected[k], actual[k]) for k in changed]
    return "missing %s, extra %s, different %s" % (missing, extra, different)


def wait_mounted(node, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if node.run("findmnt --types fuse.glusterfs --mountpoint %s" % MOUNT).rc == 0:
            return
        time.sleep(2)
    pytest.fail("%s not mounted after %d s" % (MOUNT, timeout))


def write(node, path, text):
    node.check_output("printf %%s %s > %s" % (shlex.quote(text), shlex.quote(path)))


def test_volume_layout_and_options(nodes):
    node = nodes[sorted(nodes)[0]]
    vol = gluster_xml(node, "volume", "info", VOLUME).find(".//volume")
    assert vol.findtext("statusStr") == "Started"
    assert vol.findtext("replicaCount") == "3" and vol.findtext("arbiterCount") == "0"
    bricks = [b.findtext("name") for b in vol.iter("brick")]
    assert bricks == ["%s:%s" % (h, BRICK) for h in sorted(nodes)]
    options = dict((o.findtext("name"), o.findtext("value")) for o in vol.iter("option"))
    assert options["cluster.quorum-type"] == "auto"
    assert options["cluster.server-quorum-type"] == "server"
    assert options["network.ping-timeout"] == "10"
    # auth.allow: the nodes' own addresses (and loopback), nothing wider.
    ips = sorted(nodes[h].check_output("getent ahostsv4 %s | awk 'NR==1{print $1}'" % h) for h in nodes)
    assert options["auth.allow"].split(",") == sorted(ips + ["127.0.0.1"])
    assert "*" not in options["auth.allow"]


def test_mounted_on_every_node_now_and_at_boot(nodes):
    for name, node in nodes.items():
        assert node.run("findmnt --types fuse.glusterfs --mountpoint %s" % MOUNT).rc == 0, name
        fstab = node.file("/etc/fstab").content_string
        others = ":".join(h for h in sorted(nodes) if h != name)
        line = [entry for entry in fstab.splitlines() if MOUNT in entry]
        assert len(line) == 1, fstab
        assert line[0].startswith("%s:/%s %s glusterfs " % (name, VOLUME, MOUNT)), line
        assert "backup-volfile-servers=%s" % others in line[0] and "_netdev" in line[0], line


def test_namespaces_are_directories_in_the_volume(nodes):
    for node in nodes.values():
        db = node.file(MOUNT + "/db")
        assert db.is_directory and db.uid == 999 and db.gid == 999 and db.mode == 0o750
        assert node.file(MOUNT + "/wiki").is_directory and node.file(MOUNT + "/media").is_directory


def test_a_file_written_on_one_node_is_read_on_the_others(nodes):
    names = sorted(nodes)
    for writer in names:
        path = "%s/wiki/from-%s.txt" % (MOUNT, writer)
        write(nodes[writer], path, "written on %s\n" % writer)
        for reader in names:
            assert nodes[reader].file(path).content_string == "written on %s\n" % writer, (writer, reader)
    # and on every brick, not only through the mount
    for name in names:
        assert nodes[name].file("%s/wiki/from-%s.txt" % (BRICK, names[0])).exists, name


def test_writes_go_on_with_a_node_stopped_and_heal_when_it_returns(nodes):
    names = sorted(nodes)
    writer, stopped = nodes[names[0]], names[-1]
    writer.check_output("mkdir -p %s/media/before && for i in $(seq 1 20); do echo $i > %s/media/before/f$i; done"
                        % (MOUNT, MOUNT))
    subprocess.run(["docker", "stop", stopped], check=True, capture_output=True)
    try:
        started = time.time()
        writer.check_output(
            "mkdir -p %(m)s/media/while-down && for i in $(seq 1 300); do echo $i > %(m)s/media/while-down/f$i; done"
            " && head -c 20000000 /dev/urandom > %(m)s/db/big.bin && echo changed > %(m)s/media/before/f1"
            " && rm %(m)s/media/before/f2 && mv %(m)s/media/before/f3 %(m)s/media/before/f3-renamed" % {"m": MOUNT})
        print("300 files, 20 MB, a change, a delete and a rename with %s stopped: %.1f s"
              % (stopped, time.time() - started))
        assert writer.file(MOUNT + "/media/while-down/f300").content_string == "300\n"
        # the surviving bricks record what the stopped one missed
        assert heal_pending(writer) is None  # the stopped brick cannot be asked
        pending = sum(int(b.findtext("numberOfEntries")) for b in
                      gluster_xml(writer, "volume", "heal", VOLUME, "info").iter("brick")
                      if (b.findtext("numberOfEntries") or "").isdigit())
        assert pending > 0
    finally:
        subprocess.run(["docker", "start", stopped], check=True, capture_output=True)
    wait_mounted(nodes[stopped])
    started = time.time()
    files = wait_healed(nodes)
    print("healed %s after its restart in %.1f s" % (stopped, time.time() - started))
    assert "media/while-down/f300" in files and "db/big.bin" in files and "media/before/f3-renamed" in files
    assert "media/before/f2" not in files and "media/before/f3" not in files
    assert nodes[stopped].file(MOUNT + "/media/before/f1").content_string == "changed\n"


def test_status_shows_peers_bricks_and_heals_per_namespace():
    rc, out = run_playbook(playbook="playbooks/status.yml")
    assert rc == 0, out[-3000:]
    for h in RUNNER.get_hosts(SWARM_HOSTS):
        assert "%s:%s" % (h, BRICK) in out
    for ns in ("wiki", "db", "media"):
        assert "%-24s 0" % ns in out, out[-3000:]
    assert "total pending heal entries: 0" in out
    assert all(v.get("changed") == 0 for v in recap(out).values())


@pytest.mark.parametrize("extra, message", [
    ("replication_replica_count=2", "replication_replica_count 2 (plain replica 2) splits brain"),
    ("replication_replica_count=4", "replication_replica_count is 4 but there are only 3 hosts"),
    ("glusterfs_ping_timeout=soon", "argument 'glusterfs_ping_timeout' is of type str"),
    ('{"glusterfs_mount_options": ["entry-timeout=0,attribute-timeout=0"]}',
     "glusterfs_mount_options must be a list of single mount options"),
])
def test_bad_settings_are_refused_before_any_host_is_touched(extra, message):
    rc, out = run_playbook("-e", extra)
    assert rc != 0 and message in out, out[-2000:]
    assert set(recap(out)) == {"localhost"}, recap(out)


def test_a_node_replaced_by_an_empty_one_is_brought_back_and_healed(nodes):
    names = sorted(nodes)
    replaced = names[-1]
    before = wait_healed(nodes)
    volume_id = gluster_xml(nodes[names[0]], "volume", "info", VOLUME).find(".//volume").findtext("id")
    # A new, empty machine under the same name: container, Docker data and brick filesystem all gone.
    subprocess.run(["docker", "rm", "--force", replaced], check=True, capture_output=True)
    subprocess.run(["docker", "volume", "rm", replaced + "-docker", replaced + "-brick"], check=True,
                   capture_output=True)
    rc, out = run_playbook("-e", "lab_name=%s" % LAB, "-e", "lab_nodes=%d" % len(names), "-e", "lab_inventory_path=",
                           playbook="playbooks/lab.yml")
    assert rc == 0, out[-3000:]
    assert nodes[replaced].run("test -e %s" % BRICK).rc != 0  # really empty
    rc, out = run_playbook()
    assert rc == 0, out[-4000:]
    after = wait_healed(nodes)
    assert after == before
    # the same volume, not a second one, and the swarm holds each host once
    vols = gluster_xml(nodes[names[0]], "volume", "info").findall(".//volume")
    assert [v.findtext("id") for v in vols] == [volume_id]
    listing = nodes[names[0]].check_output("docker node ls --format '{{.Hostname}} {{.Status}}'").splitlines()
    assert sorted(listing) == sorted("%s Ready" % h for h in names), listing
    rc, out = run_playbook()
    assert rc == 0 and all(v.get("changed") == 0 for v in recap(out).values()), recap(out)


def test_check_mode_on_a_converged_cluster_changes_nothing():
    rc, out = run_playbook("--check", "--diff")
    assert rc == 0, out[-3000:]
    assert all(v.get("changed") == 0 for v in recap(out).values()), recap(out)


@pytest.mark.parametrize("wanted", [v for v in ("bind", "glusterfs", "p2p") if v != "glusterfs"])
def test_a_variant_change_with_data_in_place_is_refused_before_anything_changes(nodes, wanted):
    assert_variant_change_refused(nodes, "glusterfs", wanted)
