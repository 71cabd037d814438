"""An application stack on the real lab, written with the compose_volume filter (docs/applications.md): both layouts
(a bind mount, a local-driver named volume) land on the namespace's primary, and what the application writes
reaches every replica, checked by checksum. Then the demo application of README's main command (playbooks/demo.yml):
deployed idempotently, and check_replication.yml proves replication through it."""

import hashlib
import json
import re
import shlex
import time

import pytest
from helpers import RUNNER, SWARM_HOSTS, recap, run_playbook

STACK = "swarmdata-testapp"


@pytest.fixture(scope="module")
def stack(group_vars):
    manager = RUNNER.get_host(RUNNER.get_hosts("swarm_managers")[0])
    rc, out = run_playbook(playbook="molecule/default/app_stack.yml")
    assert rc == 0, out[-3000:]
    yield manager
    manager.run("docker stack rm %s" % STACK)
    wiki = "%s/namespaces/wiki" % group_vars["replication_root"]
    for name in RUNNER.get_hosts(SWARM_HOSTS):
        h = RUNNER.get_host(name)
        h.run("rm -f %s/app-bind %s/app-volume /tmp/swarmdata-testapp.yml" % (wiki, wiki))
        deadline = time.time() + 60
        while h.run("docker volume rm %s_swarmdata-wiki" % STACK).rc != 0 and time.time() < deadline:
            if "no such volume" in h.run("docker volume inspect %s_swarmdata-wiki" % STACK).stderr.lower():
                break
            time.sleep(2)


def test_both_layouts_run_on_the_primary_and_their_writes_reach_every_replica(stack, group_vars):
    primary = group_vars["replication_primary"]
    wiki = "%s/namespaces/wiki" % group_vars["replication_root"]
    for service in ("bind-writer", "volume-writer"):
        deadline = time.time() + 120
        while True:
            nodes = stack.check_output("docker service ps --filter desired-state=running --format '{{.Node}} "
                                       "{{.CurrentState}}' %s_%s" % (STACK, service)).splitlines()
            if [n.split()[1] for n in nodes] == ["Running"] or time.time() > deadline:
                break
            time.sleep(1)
        assert [n.split()[0] for n in nodes] == [primary], (service, nodes)
    sums = {}
    deadline = time.time() + 60
    while time.time() < deadline:
        sums = {name: RUNNER.get_host(name).run("cd %s && sha256sum app-bind app-volume" % wiki).stdout
                for name in RUNNER.get_hosts(SWARM_HOSTS)}
        if len(set(sums.values())) == 1 and sums[primary].count("app-") == 2:
            break
        time.sleep(1)
    assert len(set(sums.values())) == 1 and sums[primary].count("app-") == 2, sums
    assert RUNNER.get_host(primary).file(wiki + "/app-volume").content_string.split()[1] == "volume"


def test_the_demo_application_replicates_what_it_is_given(group_vars):
    primary = group_vars["replication_primary"]
    notes = "%s/namespaces/wiki/notes" % group_vars["replication_root"]
    manager = RUNNER.get_host(RUNNER.get_hosts("swarm_managers")[0])
    try:
        rc, out = run_playbook(playbook="playbooks/demo.yml")
        assert rc == 0, out[-3000:]
        rc, out = run_playbook(playbook="playbooks/demo.yml")
        assert rc == 0 and all(v.get("changed") == 0 for v in recap(out).values()), recap(out)
        # bind: one task, on the namespace's primary, where it may write.
        nodes = manager.check_output("docker service ps --filter desired-state=running --format '{{.Node}}' "
                                     "swarmdata-demo_web").split()
        assert nodes == [primary], nodes

        rc, out = run_playbook("-e", "check_through_app=true", playbook="playbooks/check_replication.yml")
        assert rc == 0, out[-3000:]
        replicas = [h for h in RUNNER.get_hosts(SWARM_HOSTS) if h != primary]
        for replica in replicas:
            said = r"%s holds the note \S+ written through\s+the demo on %s" % (replica, primary)
            assert re.search(said, out), out[-3000:]

        # Independently of the playbook: a note posted to the demo on the primary is on every node, byte for byte.
        body = "a note %d\n" % time.time_ns()
        post = ("import urllib.request as u; print(u.urlopen(u.Request('http://127.0.0.1:8480/notes', data=%r, "
                "method='POST')).read().decode())" % body.encode())
        reply = json.loads(RUNNER.get_host(primary).check_output("python3 -c %s" % shlex.quote(post)))
        assert reply["sha256"] == hashlib.sha256(body.encode()).hexdigest()
        deadline = time.time() + 30
        sums = {}
        while time.time() < deadline:
            sums = dict((h, RUNNER.get_host(h).run("sha256sum %s/%s" % (notes, reply["name"])).stdout.split()[:1])
                        for h in RUNNER.get_hosts(SWARM_HOSTS))
            if all(v == [reply["sha256"]] for v in sums.values()):
                break
            time.sleep(1)
        assert all(v == [reply["sha256"]] for v in sums.values()), sums
    finally:
        manager.run("docker stack rm swarmdata-demo")
