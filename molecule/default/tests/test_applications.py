"""An application stack on the real lab, written with the compose_volume filter (docs/applications.md): both layouts
(a bind mount, a local-driver named volume) land on the namespace's primary, and what the application writes
reaches every replica, checked by checksum."""

import time

import pytest
from helpers import RUNNER, run_playbook

STACK = "swarmdata-testapp"


@pytest.fixture(scope="module")
def stack(group_vars):
    manager = RUNNER.get_host(RUNNER.get_hosts("swarm_managers")[0])
    rc, out = run_playbook(playbook="molecule/default/app_stack.yml")
    assert rc == 0, out[-3000:]
    yield manager
    manager.run("docker stack rm %s" % STACK)
    wiki = "%s/namespaces/wiki" % group_vars["replication_root"]
    for name in RUNNER.get_hosts("all"):
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
                for name in RUNNER.get_hosts("all")}
        if len(set(sums.values())) == 1 and sums[primary].count("app-") == 2:
            break
        time.sleep(1)
    assert len(set(sums.values())) == 1 and sums[primary].count("app-") == 2, sums
    assert RUNNER.get_host(primary).file(wiki + "/app-volume").content_string.split()[1] == "volume"
