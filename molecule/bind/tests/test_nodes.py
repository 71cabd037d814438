"""Nodes leaving, coming back and changing role, on the real bind lab (docs/nodes.md): the inventory says who is in
the cluster. A replica taken out of the inventory is drained, loses its labels and its receiver, and keeps its data;
a worker moved to the managers is promoted. Put back as it was, the replica is active again, catches up with what
was written meanwhile (checksums on every node), and the worker is demoted. Each step is idempotent. Runs after
test_guards.py (same lab)."""

import os
import shutil
import stat
import tempfile
import time

import pytest
import testinfra
import yaml
from helpers import INVENTORY, RUNNER, manifest, recap, run_playbook

testinfra_hosts = RUNNER.get_hosts("swarm_managers")[:1]
ROOT = "/opt/swarmdata/namespaces"


@pytest.fixture(scope="module")
def lab(group_vars):
    primary = group_vars["replication_primary"]
    workers = RUNNER.get_hosts("swarm_workers")
    assert len(workers) == 2 and primary not in workers, workers
    hosts = dict((h, testinfra.get_host("docker://" + h)) for h in RUNNER.get_hosts("all"))
    # The changed inventory: the second worker taken out, the first one moved to the managers.
    with open(INVENTORY) as f:
        inv = yaml.safe_load(f)
    moved, removed = workers
    groups = {}
    regroup(inv, removed, groups)
    groups["swarm_managers"]["hosts"][moved] = groups["swarm_workers"]["hosts"].pop(moved)
    # Its own directory, never Molecule's inventory directory (Molecule reads every file there), with the
    # scenario's group_vars beside it.
    work = tempfile.mkdtemp(prefix="swarmdata-nodes-test.")
    for sub in ("group_vars", "host_vars"):
        if os.path.isdir(os.path.join(os.path.dirname(INVENTORY), sub)):
            os.symlink(os.path.join(os.path.dirname(INVENTORY), sub), os.path.join(work, sub))
    changed = os.path.join(work, "hosts.yml")
    with open(changed, "w") as f:
        yaml.safe_dump(inv, f)
    names = [ns if isinstance(ns, str) else ns["name"] for ns in group_vars["replication_namespaces"]]
    yield {"primary": primary, "moved": moved, "removed": removed, "hosts": hosts, "changed": changed,
           "m": hosts[primary], "namespaces": names}
    shutil.rmtree(work)


def regroup(tree, removed, groups):
    """Drop host `removed` from every group of a YAML inventory, wherever it nests, and collect the groups."""
    for name, group in tree.items():
        if not isinstance(group, dict):
            continue
        groups[name] = group
        (group.get("hosts") or {}).pop(removed, None)
        regroup(group.get("children") or {}, removed, groups)


def trees(lab, names):
    return dict((h, [manifest(lab["hosts"][h], "%s/%s" % (ROOT, ns)) for ns in lab["namespaces"]]) for h in names)


def files(tree):
    """Every regular file's checksum, per namespace. Modes are left out: the replicas hold the guard tests' setuid
    files without the bit, and neither their device node nor their FIFO (docs/data-safety.md section 7)."""
    return [dict((p, v[5]) for p, v in ns.items() if stat.S_ISREG(v[0])) for ns in tree]


def node(lab, name, fmt):
    return lab["m"].check_output("docker node inspect --format %s %s" % (repr(fmt), name))


def write(lab, tag, count=20):
    lab["m"].check_output("for i in $(seq 1 %d); do for ns in %s; do echo %s-$i > %s/$ns/nodes-%s-$i; done; done"
                          % (count, " ".join(lab["namespaces"]), tag, ROOT, tag))


def wait_same(lab, names, timeout=120):
    deadline = time.time() + timeout
    while True:
        have = trees(lab, names)
        if all(files(have[h]) == files(have[lab["primary"]]) for h in names) or time.time() > deadline:
            return have
        time.sleep(2)


def assert_idempotent(inventory=None):
    rc, out = run_playbook(inventory=inventory)
    assert rc == 0 and all(v.get("changed") == 0 for v in recap(out).values()), recap(out)


def test_a_replica_out_of_the_inventory_is_drained_and_keeps_its_data_and_a_moved_worker_is_promoted(lab):
    everyone = [lab["primary"], lab["moved"], lab["removed"]]
    write(lab, "before")
    before = wait_same(lab, everyone)
    assert all(files(before[h]) == files(before[lab["primary"]]) for h in everyone), "the lab did not converge"

    rc, out = run_playbook(inventory=lab["changed"])
    assert rc == 0, out[-3000:]
    assert "%s is no longer in the inventory: it is drained" % lab["removed"] in out, out[-3000:]
    assert node(lab, lab["moved"], "{{.Spec.Role}}") == "manager"
    assert node(lab, lab["removed"], "{{.Spec.Availability}}") == "drain"
    assert "swarmdata." not in node(lab, lab["removed"], "{{json .Spec.Labels}}")
    running = lab["m"].check_output("docker node ps %s --filter desired-state=running --format '{{.Name}}'"
                                    % lab["removed"])
    assert running == "", running
    assert_idempotent(lab["changed"])

    # Replication goes on to the replica that stays; the removed one is left exactly as it was.
    write(lab, "while-out")
    now = wait_same(lab, [lab["primary"], lab["moved"]])
    assert files(now[lab["moved"]]) == files(now[lab["primary"]]) != files(before[lab["primary"]])
    assert trees(lab, [lab["removed"]])[lab["removed"]] == before[lab["removed"]], "the removed host's data changed"


def test_back_in_the_inventory_the_replica_catches_up_and_the_worker_is_demoted(lab):
    rc, out = run_playbook()
    assert rc == 0, out[-3000:]
    assert node(lab, lab["moved"], "{{.Spec.Role}}") == "worker"
    assert node(lab, lab["removed"], "{{.Spec.Availability}}") == "active"
    assert '"swarmdata.member":"true"' in node(lab, lab["removed"], "{{json .Spec.Labels}}")
    everyone = [lab["primary"], lab["moved"], lab["removed"]]
    have = wait_same(lab, everyone)
    for h in everyone:
        assert files(have[h]) == files(have[lab["primary"]]), "%s differs from the primary" % h
    assert any("nodes-while-out-1" in tree for tree in have[lab["removed"]]), "the replica did not catch up"
    assert_idempotent()
