# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/node_labels.py against a fake Docker SDK client (pytest-mock)."""

import copy

import pytest
from ansible_collections.swarmdata.replication.plugins.modules import node_labels
from docker.errors import APIError, DockerException


class FakeNode:
    """The parts of docker.models.nodes.Node the module uses; update() records a deep copy of the spec."""

    def __init__(self, node_id, hostname, labels=None, role="worker"):
        self.id = node_id
        self.attrs = {
            "ID": node_id,
            "Version": {"Index": 42},
            "Description": {"Hostname": hostname},
            "Spec": {"Labels": dict(labels or {}), "Role": role, "Availability": "active"},
        }
        self.updates = []
        self.error = None

    def update(self, spec):
        self.updates.append(copy.deepcopy(spec))
        if self.error is not None:
            raise self.error
        return True


@pytest.fixture
def nodes():
    return {
        "node1": FakeNode("id1", "node1", {"swarmdata.role": "primary", "swarmdata.member": "true",
                                           "team": "ops", "swarmdataX": "not-ours"}, role="manager"),
        "node2": FakeNode("id2", "node2", {"swarmdata.role": "replica", "zone": "b"}),
        "node3": FakeNode("id3", "node3", {"swarmdata.role": "replica", "swarmdata.old": "x", "zone": "c"}),
    }


@pytest.fixture
def labels_run(run_module, swarm_client, nodes):
    swarm_client.nodes.list.return_value = list(nodes.values())

    def _run(entries, check_mode=False, diff=False, **args):
        params = {"nodes": entries}
        params.update(args)
        return run_module(node_labels, params, check_mode=check_mode, diff=diff)

    return _run


def test_reconcile_preserves_foreign_labels_and_updates_prefixed(labels_run, nodes, swarm_client):
    run = labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "primary", "swarmdata.member": "true"}},
        {"node": "id2", "labels": {"swarmdata.role": "primary", "swarmdata.member": "true"}},
        {"node": "node3", "labels": {"swarmdata.role": "replica"}},
    ])
    assert run.rc == 0
    assert run.result["changed"] is True
    swarm_client.factory.assert_called_once_with(base_url="unix:///var/run/docker.sock")

    # node1 already matches: no update at all.
    assert nodes["node1"].updates == []

    # node2: one label changed, one added; the foreign label and the rest of the spec kept.
    [spec2] = nodes["node2"].updates
    assert spec2 == {"Labels": {"swarmdata.role": "primary", "swarmdata.member": "true", "zone": "b"},
                     "Role": "worker", "Availability": "active"}

    # node3: a prefixed label removed, the foreign one kept.
    [spec3] = nodes["node3"].updates
    assert spec3["Labels"] == {"swarmdata.role": "replica", "zone": "c"}

    assert run.result["changes"] == [
        {"node": "node2", "label": "swarmdata.member", "before": None, "after": "true"},
        {"node": "node2", "label": "swarmdata.role", "before": "replica", "after": "primary"},
        {"node": "node3", "label": "swarmdata.old", "before": "x", "after": None},
    ]
    assert run.result["nodes"] == {
        "node1": {"swarmdata.role": "primary", "swarmdata.member": "true"},
        "node2": {"swarmdata.role": "primary", "swarmdata.member": "true"},
        "node3": {"swarmdata.role": "replica"},
    }


def test_label_with_prefix_as_substring_only_is_not_ours(labels_run, nodes):
    # 'swarmdataX' starts with the prefix's letters but not with 'swarmdata.': it is foreign and must stay.
    labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "replica"}},
        {"node": "node2", "labels": {"swarmdata.role": "replica"}},
        {"node": "node3", "labels": {"swarmdata.role": "replica", "swarmdata.old": "x"}},
    ])
    [spec1] = nodes["node1"].updates
    assert spec1["Labels"] == {"swarmdata.role": "replica", "team": "ops", "swarmdataX": "not-ours"}


def test_unlisted_node_loses_prefixed_labels_when_exclusive(labels_run, nodes):
    run = labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "primary", "swarmdata.member": "true"}},
        {"node": "node2", "labels": {"swarmdata.role": "replica"}},
    ])
    [spec3] = nodes["node3"].updates
    assert spec3["Labels"] == {"zone": "c"}
    assert run.result["nodes"]["node3"] == {}
    assert {"node": "node3", "label": "swarmdata.role", "before": "replica", "after": None} in run.result["changes"]


def test_unlisted_node_untouched_when_not_exclusive(labels_run, nodes):
    run = labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "primary", "swarmdata.member": "true"}},
        {"node": "node2", "labels": {"swarmdata.role": "replica"}},
    ], exclusive=False)
    assert run.rc == 0
    assert run.result["changed"] is False
    assert nodes["node3"].updates == []
    assert "node3" not in run.result["nodes"]
    assert all(c["node"] != "node3" for c in run.result["changes"])


def test_check_mode_reports_but_does_not_update(labels_run, nodes):
    run = labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "replica"}},
        {"node": "node2", "labels": {"swarmdata.role": "primary"}},
    ], check_mode=True, diff=True)
    assert run.rc == 0
    assert run.result["changed"] is True
    assert all(n.updates == [] for n in nodes.values())
    assert {"node": "node1", "label": "swarmdata.role", "before": "primary", "after": "replica"} \
        in run.result["changes"]
    assert {"node": "node1", "label": "swarmdata.member", "before": "true", "after": None} in run.result["changes"]
    assert {"node": "node2", "label": "swarmdata.role", "before": "replica", "after": "primary"} \
        in run.result["changes"]
    assert {"node": "node3", "label": "swarmdata.old", "before": "x", "after": None} in run.result["changes"]
    assert run.result["diff"]["before"]["node1"] == {"swarmdata.role": "primary", "swarmdata.member": "true"}
    assert run.result["diff"]["after"]["node1"] == {"swarmdata.role": "replica"}


def test_no_op_is_not_changed(labels_run, nodes):
    run = labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "primary", "swarmdata.member": "true"}},
        {"node": "node2", "labels": {"swarmdata.role": "replica"}},
        {"node": "node3", "labels": {"swarmdata.role": "replica", "swarmdata.old": "x"}},
    ])
    assert run.rc == 0
    assert run.result["changed"] is False
    assert run.result["changes"] == []
    assert all(n.updates == [] for n in nodes.values())


def test_values_are_compared_as_strings(labels_run, nodes):
    # An int from YAML is the same label as the string Swarm stores; no spurious change.
    nodes["node2"].attrs["Spec"]["Labels"]["swarmdata.slot"] = "2"
    run = labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "primary", "swarmdata.member": "true"}},
        {"node": "node2", "labels": {"swarmdata.role": "replica", "swarmdata.slot": 2}},
    ], exclusive=False)
    assert run.result["changed"] is False
    assert nodes["node2"].updates == []


def test_custom_prefix_only_touches_its_own_labels(labels_run, nodes):
    nodes["node2"].attrs["Spec"]["Labels"]["acme.role"] = "old"
    run = labels_run([{"node": "node2", "labels": {"acme.role": "new"}}], label_prefix="acme.")
    assert run.rc == 0
    # swarmdata.* labels are foreign to the 'acme' prefix: no other node is updated.
    assert nodes["node1"].updates == [] and nodes["node3"].updates == []
    [spec2] = nodes["node2"].updates
    assert spec2["Labels"] == {"swarmdata.role": "replica", "zone": "b", "acme.role": "new"}
    assert run.result["changes"] == [{"node": "node2", "label": "acme.role", "before": "old", "after": "new"}]


@pytest.mark.parametrize("key", ["team", "swarmdataX.role", "swarmdata", "other.swarmdata.role"])
def test_key_outside_prefix_fails_naming_it(labels_run, nodes, key):
    run = labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "primary"}},
        {"node": "node2", "labels": {"swarmdata.role": "replica", key: "x"}},
    ])
    assert run.rc == 1
    assert run.result["msg"].startswith(f"nodes[1].labels: key(s) {key} are outside label_prefix 'swarmdata'")
    assert all(n.updates == [] for n in nodes.values())


def test_unknown_node_fails(labels_run, nodes):
    run = labels_run([{"node": "node9", "labels": {"swarmdata.role": "replica"}}])
    assert run.rc == 1
    assert "nodes[0].node 'node9' is not a node of this swarm" in run.result["msg"]
    assert "node1" in run.result["msg"]
    assert all(n.updates == [] for n in nodes.values())


def test_node_listed_twice_fails(labels_run, nodes):
    run = labels_run([
        {"node": "node1", "labels": {"swarmdata.role": "primary"}},
        {"node": "id1", "labels": {"swarmdata.role": "replica"}},
    ])
    assert run.rc == 1
    assert "nodes[1].node 'id1' is listed twice" in run.result["msg"]
    assert all(n.updates == [] for n in nodes.values())


def test_api_error_on_update_fails_with_node_name(labels_run, nodes):
    nodes["node2"].error = APIError("update out of sequence")
    run = labels_run([{"node": "node2", "labels": {"swarmdata.role": "primary"}}], exclusive=False)
    assert run.rc == 1
    assert run.result["msg"].startswith("cannot update labels of node node2: ")
    assert "update out of sequence" in run.result["msg"]


def test_not_a_swarm_manager_fails(labels_run, swarm_client, nodes):
    swarm_client.info.return_value = {"Swarm": {"LocalNodeState": "active", "ControlAvailable": False}}
    run = labels_run([{"node": "node1", "labels": {}}])
    assert run.rc == 1
    assert "not an active Swarm manager" in run.result["msg"]
    swarm_client.nodes.list.assert_not_called()


def test_unreachable_engine_fails(labels_run, swarm_client):
    swarm_client.ping.side_effect = DockerException("connection refused")
    run = labels_run([{"node": "node1", "labels": {}}], docker_host="tcp://127.0.0.1:1")
    assert run.rc == 1
    assert run.result["msg"] == "cannot reach the Docker engine at tcp://127.0.0.1:1: connection refused"
    swarm_client.factory.assert_called_once_with(base_url="tcp://127.0.0.1:1")


def test_with_module_level_mocks(run_module, mocker, nodes):
    # The other way in: replace the module's own docker_client / require_swarm_manager.
    client = mocker.MagicMock()
    client.nodes.list.return_value = list(nodes.values())
    get_client = mocker.patch.object(node_labels, "docker_client", return_value=client)
    require = mocker.patch.object(node_labels, "require_swarm_manager")
    args = {"nodes": [{"node": "node2", "labels": {"swarmdata.role": "primary"}}], "exclusive": False}
    run = run_module(node_labels, args)
    assert run.rc == 0
    assert get_client.call_count == 1
    require.assert_called_once()
    assert nodes["node2"].updates[0]["Labels"] == {"swarmdata.role": "primary", "zone": "b"}
