"""The foundation on a real 3-node swarm: membership, labels, directories, secrets, safety."""

import json
import os
import tempfile
import time

import pytest
from helpers import PRIVATE_MARKERS, RUNNER, SWARM_HOSTS, recap, run_module, run_playbook

testinfra_hosts = RUNNER.get_hosts(SWARM_HOSTS)
PREFIX = "swarmdata"


def test_swarm_member_with_inventory_role(host):
    swarm = json.loads(host.check_output("docker info --format '{{json .Swarm}}'"))
    assert swarm["LocalNodeState"] == "active"
    name = host.check_output("hostname")
    assert swarm["ControlAvailable"] == (name in RUNNER.get_hosts("swarm_managers"))


def test_namespace_directories_owner_and_mode(host, group_vars):
    root = group_vars["replication_root"]
    assert host.file(root).mode == 0o755
    assert host.file(root + "/state").mode == 0o700
    for ns in group_vars["replication_namespaces"]:
        d = host.file("%s/namespaces/%s" % (root, ns["name"]))
        assert d.is_directory
        assert d.mode == int(ns.get("mode", "0755"), 8)
        assert str(d.uid if ns.get("owner", "root").isdigit() else d.user) == ns.get("owner", "root")


def test_inotify_limits_raised_and_persisted(host):
    assert int(host.file("/proc/sys/fs/inotify/max_user_watches").content_string) >= 1048576
    assert host.file("/etc/sysctl.d/60-swarmdata-inotify.conf").contains("fs.inotify.max_user_watches")


def node_labels(manager_host, name):
    return json.loads(manager_host.check_output("docker node inspect %s --format '{{json .Spec.Labels}}'" % name))


def test_labels_come_from_the_plan(manager_host, all_hosts, group_vars):
    primary = group_vars["replication_primary"]
    for name in all_hosts:
        labels = node_labels(manager_host, name)
        mine = dict((k, v) for k, v in labels.items() if k.startswith(PREFIX + "."))
        assert mine == {
            PREFIX + ".role": "primary" if name == primary else "replica",
            PREFIX + ".member": "true",
            PREFIX + ".variant": "bind",
            PREFIX + ".host": name,
            # bind: each namespace's primary carries <prefix>.primary.<ns> (what an application's placement follows)
            **dict(("%s.primary.%s" % (PREFIX, ns["name"] if isinstance(ns, dict) else ns), "true")
                   for ns in group_vars["replication_namespaces"] if name == primary),
        }


def test_constraint_from_the_plan_places_on_the_primary(manager_host, group_vars):
    # The constraint string the plan gives, used by Swarm's own scheduler, lands on the primary.
    plan_constraint = "node.labels.%s.role == primary" % PREFIX
    out = manager_host.check_output(
        "docker service create --detach --name swarmdata-probe --label io.swarmdata.test=1 "
        "--constraint '%s' --restart-condition none busybox-does-not-exist:0 true" % plan_constraint)
    try:
        for _attempt in range(30):
            tasks = manager_host.check_output("docker service ps swarmdata-probe --format '{{.Node}}'")
            if tasks.strip():
                break
            time.sleep(1)
        assert out
        # The image cannot be pulled here, but the scheduler still assigns the task to a node.
        assert set(filter(None, tasks.split())) == {group_vars["replication_primary"]}
    finally:
        manager_host.run("docker service rm swarmdata-probe")


def test_secrets_hold_keys_with_public_parts_as_labels(manager_host, all_hosts, group_vars):
    primary = group_vars["replication_primary"]
    wanted = ["%s-mover-key" % PREFIX] + ["%s-hostkey-%s" % (PREFIX, h) for h in all_hosts if h != primary]
    for name in wanted:
        secret = json.loads(manager_host.check_output("docker secret inspect %s" % name))[0]
        labels = secret["Spec"]["Labels"]
        assert labels[PREFIX + ".public_key"].startswith("ssh-ed25519 ")
        printed = manager_host.check_output(
            "echo '%s' | ssh-keygen -l -f /dev/stdin" % labels[PREFIX + ".public_key"])
        assert printed.split()[1] == labels[PREFIX + ".fingerprint"]
        assert "Data" not in secret["Spec"]  # the engine never hands the key back


def test_no_private_key_in_the_ansible_log():
    log = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.log")
    text = open(log).read()
    assert "Keep the variant's SSH keys in the swarm as secrets" in text  # the log did record the key task
    for marker in PRIVATE_MARKERS:
        assert marker not in text


def test_second_controller_with_empty_directory_changes_nothing(managers):
    args = {"keys": [{"name": "swarmdata-probe-key"}]}
    outputs = []
    try:
        for expect_changed in (True, False):
            with tempfile.TemporaryDirectory() as empty:
                rc, out = run_module(managers[0], "swarmdata.replication.swarm_ssh_keys", args, "-vvv", cwd=empty)
                assert rc == 0, out
                assert ('"changed": %s' % str(expect_changed).lower()) in out
                outputs.append(out)
                for marker in PRIVATE_MARKERS:
                    assert marker not in out
        first, second = (o.split('"public_key": "')[1].split('"')[0] for o in outputs)
        assert first == second and first.startswith("ssh-ed25519 ")
    finally:
        run_module(managers[0], "swarmdata.replication.swarm_ssh_keys", dict(args, state="absent"))


def test_foreign_labels_kept_stale_prefixed_labels_removed(manager_host, all_hosts):
    worker = all_hosts[-1]
    manager_host.check_output(
        "docker node update --label-add other.team=storage --label-add %s.stale=1 %s" % (PREFIX, worker))
    rc, out = run_playbook()
    assert rc == 0, out
    labels = node_labels(manager_host, worker)
    assert labels["other.team"] == "storage"
    assert PREFIX + ".stale" not in labels
    assert sum(r["changed"] for r in recap(out).values()) == 1
    manager_host.check_output("docker node update --label-rm other.team %s" % worker)


BAD_INPUTS = [
    ({"replication_variant": "nfs"}, "replication_variant"),
    ({"replication_primary": "nohost"}, "replication_primary 'nohost' is not in"),
    ({"replication_primary": ""}, "replication_primary must name the primary"),
    ({"replication_root": "opt/data"}, "replication_root must be an absolute path"),
    ({"replication_namespaces": [{"name": "../x"}]}, "contains '/'"),
    ({"replication_namespaces": [{"name": "a/b"}]}, "contains '/'"),
    ({"replication_namespaces": [{"name": ""}]}, "a namespace name is empty"),
    ({"replication_namespaces": [{"name": "x" * 64}]}, "at most 63 are allowed"),
    ({"replication_namespaces": ["wiki", "wiki"]}, "listed more than once"),
    ({"replication_variant": "glusterfs", "replication_replica_count": 4}, "replication_replica_count is 4"),
    ({"replication_root": "/opt/swarm'data"}, "replication_root \"/opt/swarm'data\" contains \"'\""),
    ({"replication_backup_host": "nohost"}, "replication_backup_host must be one of the swarm hosts"),
    # what an unquoted `mode: 0770` in YAML arrives as
    ({"replication_namespaces": [{"name": "wiki", "mode": 0o770}]},
     "replication_namespaces[0].mode is the integer 504"),
]


@pytest.mark.parametrize("extra,message", BAD_INPUTS, ids=[message for _extra, message in BAD_INPUTS])
def test_bad_input_fails_before_any_host_is_touched(extra, message, all_hosts):
    rc, out = run_playbook("-e", json.dumps(extra))
    assert rc != 0
    assert message in out
    hosts = recap(out)
    assert set(hosts) == {"localhost"}, "a lab host ran tasks: %s" % hosts
    assert hosts["localhost"]["failed"] == 1


def test_check_mode_reports_a_new_namespace_and_creates_nothing(group_vars, all_hosts):
    namespaces = group_vars["replication_namespaces"] + [{"name": "checkonly"}]
    rc, out = run_playbook("--check", "--diff", "-e", json.dumps({"replication_namespaces": namespaces}))
    assert rc == 0, out
    hosts = recap(out)
    assert all(hosts[h]["changed"] >= 1 for h in all_hosts), hosts
    for name in all_hosts:
        assert not RUNNER.get_host(name).file(group_vars["replication_root"] + "/namespaces/checkonly").exists


def test_a_host_in_another_swarm_is_refused_then_rejoins_after_leaving(manager_host, all_hosts):
    worker = all_hosts[-1]
    node = RUNNER.get_host(worker)
    old_id = node.check_output("docker info --format '{{.Swarm.NodeID}}'")
    node.check_output("docker swarm leave --force")
    node.check_output("docker swarm init --advertise-addr 127.0.0.1 >/dev/null")
    foreign_id = node.check_output("docker info --format '{{.Swarm.NodeID}}'")
    try:
        rc, out = run_playbook()
        assert rc != 0
        assert "%s is already in a different swarm" % worker in out
        assert "docker swarm leave --force" in out
        # It was not re-joined behind the operator's back.
        assert node.check_output("docker info --format '{{.Swarm.NodeID}}'") == foreign_id
    finally:
        node.check_output("docker swarm leave --force")
        manager_host.run("docker node rm --force %s" % old_id)
    rc, out = run_playbook()
    assert rc == 0, out
    assert json.loads(node.check_output("docker info --format '{{json .Swarm}}'"))["LocalNodeState"] == "active"
    rc, out = run_playbook()
    assert rc == 0 and all(r["changed"] == 0 for r in recap(out).values()), out
