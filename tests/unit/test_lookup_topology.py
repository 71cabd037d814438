# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/lookup/topology.py, loaded the way Ansible loads it (lookup_loader), so set_options is real."""

import pytest
from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import (
    build_plan,
)

GROUPS = {
    "all": ["node1", "node2", "node3"],
    "ungrouped": [],
    "swarm_managers": ["node1"],
    "swarm_workers": ["node2", "node3"],
}


@pytest.fixture
def topology():
    plugin = lookup_loader.get("swarmdata.replication.topology")
    assert plugin is not None, "lookup_loader cannot find swarmdata.replication.topology"
    return plugin


def variables(**extra):
    result = {"groups": GROUPS, "inventory_hostname": "node1"}
    result.update(extra)
    return result


def test_loaded_from_this_repository(topology):
    assert type(topology).__module__ == "ansible_collections.swarmdata.replication.plugins.lookup.topology"
    assert topology.ansible_name == "swarmdata.replication.topology"


def test_returns_one_plan_equal_to_build_plan(topology):
    namespaces = ["wiki", {"name": "db", "mode": "750", "owner": "999"}]
    result = topology.run([], variables=variables(
        replication_variant="bind",
        replication_primary="node2",
        replication_namespaces=namespaces,
        replication_root="/srv/swarmdata/",
    ))
    assert isinstance(result, list) and len(result) == 1
    expected = build_plan(
        groups={"swarm_managers": ["node1"], "swarm_workers": ["node2", "node3"]},
        variant="bind", namespaces=namespaces, primary="node2", root="/srv/swarmdata/",
    )
    assert result == [expected]
    plan = result[0]
    assert plan["primary"] == "node2"
    assert plan["root"] == "/srv/swarmdata"
    assert plan["namespaces"][1]["mode"] == "0750"


def test_defaults(topology):
    [plan] = topology.run([], variables=variables(replication_variant="p2p"))
    assert plan["variant"] == "p2p"
    assert plan["root"] == "/opt/swarmdata"
    assert plan["label_prefix"] == "swarmdata"
    assert plan["namespaces"] == []
    assert plan["gluster"] is None
    assert plan["hosts"] == ["node1", "node2", "node3"]


def test_label_prefix_and_replica_count_variables(topology):
    [plan] = topology.run([], variables=variables(
        replication_variant="glusterfs",
        replication_label_prefix="acme",
        replication_replica_count="3",
    ))
    assert {k: plan["gluster"][k] for k in ("replica", "arbiter")} == {"replica": 3, "arbiter": 0}
    assert plan["constraints"]["peer"] == ["node.labels.acme.role == peer"]
    assert plan["nodes"]["node2"]["labels"]["acme.role"] == "peer"


def test_keyword_arguments_override_variables(topology):
    [plan] = topology.run([], variables=variables(replication_variant="bind", replication_primary="node1"),
                          variant="p2p")
    assert plan["variant"] == "p2p"
    assert plan["primary"] is None


def test_custom_group_names(topology):
    [plan] = topology.run([], variables={"groups": {"mgr": ["a"], "wrk": ["b"]}},
                          variant="bind", primary="b", managers_group="mgr", workers_group="wrk")
    assert plan["hosts"] == ["a", "b"]
    assert plan["nodes"]["b"]["role"] == "primary"


@pytest.mark.parametrize("extra, expected", [
    ({"replication_variant": "rsync"}, ["replication_variant", "must be one of bind, glusterfs, p2p", "'rsync'"]),
    ({}, ["replication_variant", "must be one of", "got None"]),
    ({"replication_variant": "p2p", "replication_namespaces": ["../x"]},
     ["replication_namespaces[0].name", "'../x' contains '/'"]),
    ({"replication_variant": "p2p", "replication_namespaces": ["wiki", "Wiki"]},
     ["replication_namespaces[1].name", "'Wiki' must match"]),
    ({"replication_variant": "bind"}, ["replication_primary", "must name the primary host"]),
    ({"replication_variant": "p2p", "replication_root": "relative"}, ["replication_root", "absolute path"]),
], ids=["unknown-variant", "no-variant", "bad-namespace", "bad-second-namespace", "bind-no-primary",
        "relative-root"])
def test_bad_input_raises_lookup_error_naming_variable(topology, extra, expected):
    with pytest.raises(AnsibleLookupError) as exc:
        topology.run([], variables=variables(**extra))
    message = str(exc.value)
    assert message.startswith("swarmdata.replication.topology: ")
    for part in expected:
        assert part in message


def test_missing_groups_names_manager_group(topology):
    with pytest.raises(AnsibleLookupError, match="inventory group 'swarm_managers' is empty or missing"):
        topology.run([], variables={"replication_variant": "p2p"})


def test_ill_typed_variable_is_refused_naming_it(topology):
    # The option layer refuses a list where the plugin declares a str, and names the variable.
    with pytest.raises(AnsibleError) as exc:
        topology.run([], variables=variables(replication_variant="bind", replication_primary=["node1", "node2"]))
    assert "replication_primary" in str(exc.value)


def test_custom_group_names_from_the_swarm_roles_variables(topology):
    """One group contract: swarm_managers_group / swarm_workers_group, read by the swarm role and the lookup."""
    groups = {"all": ["a", "b", "c"], "mgr": ["a"], "wrk": ["b", "c"]}
    [plan] = topology.run([], variables=variables(groups=groups, swarm_managers_group="mgr", swarm_workers_group="wrk",
                                                  replication_variant="bind", replication_primary="b"))
    assert plan["managers"] == ["a"] and plan["workers"] == ["b", "c"] and plan["first_manager"] == "a"
    with pytest.raises(AnsibleLookupError, match="'mgr' is empty or missing"):
        topology.run([], variables=variables(groups={"all": ["a"]}, swarm_managers_group="mgr",
                                             replication_variant="p2p"))
