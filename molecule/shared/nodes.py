"""Nodes joining, leaving, coming back and changing role, on a real lab (docs/nodes.md): the inventory says who is
in the cluster. Shared by the bind, p2p and glusterfs scenarios, whose labs have a fourth node outside the swarm's
groups (group lab_spare) until these tests put it in.

1. The fourth node added as a worker, while a worker moves to the managers: it joins, gets its labels, and the
   variant fills it (bind replica, p2p peer, glusterfs brick) with every file, checked by checksum on all four
   nodes; the worker is promoted.
2. The original inventory again: the fourth node is drained, loses its labels and runs no task, and its data stays
   exactly as it was while replication goes on among the other three; the worker is demoted.
3. The fourth node back: it is active again and catches up with what was written while it was out (bind and p2p;
   a glusterfs brick that left a volume keeps the volume's attributes, so GlusterFS refuses it back as it is).
For glusterfs the fourth node comes with replication_replica_count 4, and the copies compared are the bricks, so the
check is that GlusterFS's own copy on every node holds every file.
Each step is followed by a second run that must report changed=0. At the end the fourth node leaves the swarm the
way the run tells an operator to (and, for glusterfs, the pool, as docs/nodes.md says), and the lab is as it was."""

import copy
import os
import shutil
import stat
import tempfile
import time

import pytest
import testinfra
import yaml
from helpers import INVENTORY, RUNNER, SWARM_HOSTS, manifest, recap, run_playbook

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]
ROOT = "/opt/swarmdata/namespaces"
BRICK = "/opt/swarmdata/brick/swarmdata"  # glusterfs: each node's copy (the mount at ROOT is the volume, not a copy)


@pytest.fixture(scope="module")
def lab(group_vars):
    primary = group_vars["replication_primary"]
    workers = RUNNER.get_hosts("swarm_workers")
    spares = RUNNER.get_hosts("lab_spare")
    assert len(workers) == 2 and primary not in workers and len(spares) == 1, (workers, spares)
    spare = spares[0]
    hosts = dict((h, testinfra.get_host("docker://" + h)) for h in RUNNER.get_hosts(SWARM_HOSTS) + spares)
    with open(INVENTORY) as f:
        original = yaml.safe_load(f)
    moved = workers[0]
    # Its own directory, never Molecule's inventory directory (Molecule reads every file there), with the
    # scenario's group_vars beside it.
    work = tempfile.mkdtemp(prefix="swarmdata-nodes-test.")
    for sub in ("group_vars", "host_vars"):
        if os.path.isdir(os.path.join(os.path.dirname(INVENTORY), sub)):
            os.symlink(os.path.join(os.path.dirname(INVENTORY), sub), os.path.join(work, sub))
    inventories = {}
    for name, promote in (("added", True), ("back", False)):
        inv = copy.deepcopy(original)
        groups = {}
        collect(inv, groups)
        groups["swarm_workers"]["hosts"][spare] = groups["lab_spare"]["hosts"].pop(spare)
        if promote:
            groups["swarm_managers"]["hosts"][moved] = groups["swarm_workers"]["hosts"].pop(moved)
        if group_vars["replication_variant"] == "glusterfs":
            # Every host a full copy: a replica set of four (4 hosts are no multiple of the default 3).
            inv.setdefault("all", {}).setdefault("vars", {})["replication_replica_count"] = 4
        inventories[name] = os.path.join(work, name + ".yml")
        with open(inventories[name], "w") as f:
            yaml.safe_dump(inv, f)
    names = [ns if isinstance(ns, str) else ns["name"] for ns in group_vars["replication_namespaces"]]
    yield {"primary": primary, "moved": moved, "spare": spare, "hosts": hosts, "inventories": inventories,
           "m": hosts[primary], "namespaces": names, "variant": group_vars["replication_variant"]}
    # The way the run tells an operator to take a node out for good; then the lab as the scenario made it.
    hosts[spare].run("docker swarm leave --force")
    hosts[primary].run("docker node rm --force %s" % spare)
    if group_vars["replication_variant"] == "glusterfs":
        hosts[primary].run("gluster --mode=script peer detach %s" % spare)  # as docs/nodes.md says
    rc, out = run_playbook()
    shutil.rmtree(work)
    assert rc == 0, out[-3000:]


def collect(tree, groups):
    """Every group of a YAML inventory, wherever it nests, by name."""
    for name, group in tree.items():
        if isinstance(group, dict):
            group["hosts"] = group.get("hosts") or {}
            groups[name] = group
            collect(group.get("children") or {}, groups)


def trees(lab, names):
    base = BRICK if lab["variant"] == "glusterfs" else ROOT
    return dict((h, [manifest(lab["hosts"][h], "%s/%s" % (base, ns)) for ns in lab["namespaces"]]) for h in names)


def files(tree):
    """Every regular file's checksum, per namespace, Syncthing's temporary files aside. Modes are left out: bind's
    replicas hold the guard tests' setuid files without the bit (docs/data-safety.md section 7)."""
    return [dict((p, v[5]) for p, v in ns.items() if stat.S_ISREG(v[0]) and ".syncthing." not in p) for ns in tree]


def node(lab, name, fmt):
    return lab["m"].check_output("docker node inspect --format %s %s" % (repr(fmt), name))


def write(lab, tag, count=20):
    lab["m"].check_output("for i in $(seq 1 %d); do for ns in %s; do echo %s-$i > %s/$ns/nodes-%s-$i; done; done"
                          % (count, " ".join(lab["namespaces"]), tag, ROOT, tag))


def wait_same(lab, names, timeout=240):
    deadline = time.time() + timeout
    while True:
        have = trees(lab, names)
        if all(files(have[h]) == files(have[lab["primary"]]) for h in names) or time.time() > deadline:
            return have
        time.sleep(2)


def assert_idempotent(inventory=None):
    rc, out = run_playbook(inventory=inventory)
    assert rc == 0 and all(v.get("changed") == 0 for v in recap(out).values()), recap(out)


def the_three(lab):
    return RUNNER.get_hosts(SWARM_HOSTS)


def fuse_clients(lab):
    """glusterfs: the process ID of each of the three nodes' FUSE client of the volume at ROOT (made again by a
    remount)."""
    return dict((h, lab["hosts"][h].check_output("pgrep -f -- '^/usr/sbin/glusterfs .* %s$'" % ROOT))
                for h in the_three(lab))


def test_a_fourth_node_added_joins_and_is_filled_and_a_moved_worker_is_promoted(lab):
    write(lab, "before")
    before = wait_same(lab, the_three(lab))
    assert all(files(before[h]) == files(before[lab["primary"]]) for h in the_three(lab)), "the lab did not converge"
    assert trees(lab, [lab["spare"]])[lab["spare"]] == [{}] * len(lab["namespaces"]), "the fourth node holds data"

    clients = fuse_clients(lab) if lab["variant"] == "glusterfs" else None
    started = time.time()
    rc, out = run_playbook(inventory=lab["inventories"]["added"])
    assert rc == 0, out[-3000:]
    if clients:
        # Their fstab lines changed (one more backup volfile server): written, warned, and never unmounted under
        # the services that use the volume.
        assert fuse_clients(lab) == clients
        assert "stays mounted with the options it was mounted" in out, out[-3000:]
    assert node(lab, lab["moved"], "{{.Spec.Role}}") == "manager"
    assert node(lab, lab["spare"], "{{.Spec.Availability}}") == "active"
    labels = node(lab, lab["spare"], "{{json .Spec.Labels}}")
    assert '"swarmdata.member":"true"' in labels and '"swarmdata.variant":"%s"' % lab["variant"] in labels, labels
    everyone = the_three(lab) + [lab["spare"]]
    have = wait_same(lab, everyone)
    print("\nthe fourth node (%s) held every file %.1f s after site.yml started"
          % (lab["variant"], time.time() - started))
    for h in everyone:
        assert files(have[h]) == files(have[lab["primary"]]), "%s differs from %s" % (h, lab["primary"])
    assert any("nodes-before-1" in tree for tree in have[lab["spare"]]), "the fourth node was not filled"
    assert_idempotent(lab["inventories"]["added"])


def test_out_of_the_inventory_it_is_drained_and_keeps_its_data_and_the_worker_is_demoted(lab):
    kept = trees(lab, [lab["spare"]])[lab["spare"]]
    rc, out = run_playbook()
    assert rc == 0, out[-3000:]
    assert "%s is no longer in the inventory: it is drained" % lab["spare"] in out, out[-3000:]
    assert node(lab, lab["moved"], "{{.Spec.Role}}") == "worker"
    assert node(lab, lab["spare"], "{{.Spec.Availability}}") == "drain"
    assert "swarmdata." not in node(lab, lab["spare"], "{{json .Spec.Labels}}")
    running = lab["m"].check_output("docker node ps %s --filter desired-state=running --format '{{.Name}}'"
                                    % lab["spare"])
    assert running == "", running
    assert_idempotent()

    # Replication goes on among the three; the removed node is left exactly as it was.
    write(lab, "while-out")
    now = wait_same(lab, the_three(lab))
    for h in the_three(lab):
        assert files(now[h]) == files(now[lab["primary"]]), "%s differs from %s" % (h, lab["primary"])
    assert files(trees(lab, [lab["spare"]])[lab["spare"]]) == files(kept), "the removed node's data changed"
    assert any("nodes-before-1" in tree for tree in kept) and not any("nodes-while-out-1" in tree for tree in kept)


def test_back_in_the_inventory_it_is_active_again_and_catches_up(lab):
    rc, out = run_playbook(inventory=lab["inventories"]["back"])
    assert rc == 0, out[-3000:]
    assert node(lab, lab["spare"], "{{.Spec.Availability}}") == "active"
    assert '"swarmdata.member":"true"' in node(lab, lab["spare"], "{{json .Spec.Labels}}")
    everyone = the_three(lab) + [lab["spare"]]
    have = wait_same(lab, everyone)
    for h in everyone:
        assert files(have[h]) == files(have[lab["primary"]]), "%s differs from %s" % (h, lab["primary"])
    assert any("nodes-while-out-1" in tree for tree in have[lab["spare"]]), "the fourth node did not catch up"
    assert_idempotent(lab["inventories"]["back"])
