"""playbooks/namespace.yml on the real lab: list, path and has answer per node and change nothing; add says what to
write in the inventory; del retires only a namespace gone from the inventory, only once nothing replicates or
mounts it, only with its name typed again, takes its last backup first, and then deletes it on every node."""

import json
import re

from helpers import RUNNER, SWARM_HOSTS, recap, run_playbook

PLAYBOOK = "playbooks/namespace.yml"


def unchanged(out):
    return all(r["changed"] == 0 and r["failed"] == 0 for r in recap(out).values())


def test_list_path_and_has_answer_per_node(group_vars):
    rc, out = run_playbook("-e", "action=list", playbook=PLAYBOOK)
    assert rc == 0 and unchanged(out), out[-2000:]
    for name in RUNNER.get_hosts(SWARM_HOSTS):
        assert "%s: db, wiki" % name in out, out[-2000:]
    rc, out = run_playbook("-e", "action=path", "-e", "namespace=wiki", playbook=PLAYBOOK)
    assert rc == 0 and "(not there)" not in out, out[-2000:]
    for name in RUNNER.get_hosts(SWARM_HOSTS):
        assert "%s: %s/namespaces/wiki" % (name, group_vars["replication_root"]) in out, out[-2000:]
    rc, out = run_playbook("-e", "action=has", "-e", "namespace=nope", playbook=PLAYBOOK)
    assert rc == 0 and unchanged(out), out[-2000:]
    assert all("%s: no" % name in out for name in RUNNER.get_hosts(SWARM_HOSTS)), out[-2000:]


def test_add_says_what_to_write_and_changes_nothing():
    rc, out = run_playbook("-e", "action=add", "-e", "namespace=media", playbook=PLAYBOOK)
    assert rc == 0 and unchanged(out) and "- name: media" in out and "run site.yml" in out, out[-2000:]
    assert set(recap(out)) == {"localhost"}


def test_del_retires_only_a_removed_namespace_nothing_uses_once_confirmed(group_vars):
    root = group_vars["replication_root"]
    hosts = [RUNNER.get_host(h) for h in RUNNER.get_hosts(SWARM_HOSTS)]
    primary = RUNNER.get_host(group_vars["replication_primary"])
    rc, out = run_playbook("-e", "action=del", "-e", "namespace=wiki", "-e", "confirm=wiki", playbook=PLAYBOOK)
    assert rc != 0 and "no longer in" in out and set(recap(out)) == {"localhost"}, out[-2000:]
    # A namespace "old", replicated, then taken out of the inventory.
    with_old = json.dumps({"replication_namespaces": group_vars["replication_namespaces"] + [{"name": "old"}]})
    rc, out = run_playbook("-e", with_old)
    assert rc == 0, out[-3000:]
    primary.check_output("head -c 100000 /dev/urandom > %s/namespaces/old/keep.bin" % root)
    try:
        # Still named by the sender (site.yml has not run since it left the inventory): refused.
        rc, out = run_playbook("-e", "action=del", "-e", "namespace=old", "-e", "confirm=old", playbook=PLAYBOOK)
        assert rc != 0 and "still in use" in out and "(names it)" in out, out[-2000:]
        assert all(h.file("%s/namespaces/old/keep.bin" % root).exists for h in hosts[:1])
        rc, out = run_playbook()
        assert rc == 0, out[-3000:]
        # An application's volume (the local driver, the namespace as device), then a container's bind mount.
        old = "%s/namespaces/old" % root
        primary.check_output("docker volume create --label swarmdata.test=ns --driver local --opt type=none "
                             "--opt o=bind --opt device=%s swarmdata-test-oldvol" % old)
        rc, out = run_playbook("-e", "action=del", "-e", "namespace=old", "-e", "confirm=old", playbook=PLAYBOOK)
        assert rc != 0 and "volume swarmdata-test-oldvol (device)" in out, out[-2000:]
        primary.check_output("docker volume rm swarmdata-test-oldvol")
        primary.check_output("docker run -d --name swarmdata-test-olduser --label swarmdata.test=ns -v %s/sub:/x "
                             "%s sleep infinity" % (old, group_vars["bind_base_image"]))
        rc, out = run_playbook("-e", "action=del", "-e", "namespace=old", "-e", "confirm=old", playbook=PLAYBOOK)
        assert rc != 0 and "container swarmdata-test-olduser" in out, out[-2000:]
        primary.check_output("docker rm -f swarmdata-test-olduser")
        rc, out = run_playbook("-e", "action=del", "-e", "namespace=old", "-e", "confirm=ol", playbook=PLAYBOOK)
        assert rc != 0 and set(recap(out)) == {"localhost"}, out[-2000:]
        rc, out = run_playbook("--check", "-e", "action=del", "-e", "namespace=old", "-e", "confirm=old",
                               playbook=PLAYBOOK)
        assert rc == 0 and primary.file("%s/namespaces/old/keep.bin" % root).exists, out[-2000:]
        rc, out = run_playbook("-e", "action=del", "-e", "namespace=old", "-e", "confirm=old", playbook=PLAYBOOK)
        assert rc == 0, out[-3000:]
        # Backups are set up on this lab: its last backup was taken first (checked, drilled), and is in its
        # repository, which stays.
        last = re.search(r"""["']snapshot["']: ["']([0-9a-f]{8,64})["']""", out)
        assert last and re.search(r"""["']?drill["']?: ["']?ok""", out), out[-3000:]
        repo_host = RUNNER.get_host(group_vars["replication_backup_host"])
        kept = repo_host.check_output("ls %s/backup/old/snapshots" % root).split()
        assert any(name.startswith(last.group(1)) for name in kept), (last.group(1), kept)
        for h in hosts:
            assert not h.file("%s/namespaces/old" % root).exists
            assert h.file("%s/namespaces/wiki" % root).is_directory  # the others untouched
        assert primary.run("docker config inspect swarmdata-ns-old").rc != 0
        rc, out = run_playbook()
        assert rc == 0 and all(r["changed"] == 0 for r in recap(out).values()), out[-2000:]
    finally:
        primary.run("docker rm -f swarmdata-test-olduser; docker volume rm swarmdata-test-oldvol")
        for h in hosts:
            h.run("rm -rf %s/namespaces/old" % root)
