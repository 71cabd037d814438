# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/namespace_fence.py against a fake Swarm config store."""

import json

import pytest
from ansible_collections.swarmdata.replication.plugins.modules import namespace_fence
from docker.errors import APIError

LABEL = "swarmdata.fence"
PLAN = [{"name": "wiki", "primary": "node1"}, {"name": "db", "primary": "node2"}]


class FakeConfig(object):
    def __init__(self, store, name, labels, data=b""):
        self.store, self.name, self.id, self.data = store, name, "cfg-" + name, data
        self.attrs = {"Spec": {"Name": name, "Labels": labels}}

    def remove(self):
        del self.store[self.name]


class Store(dict):
    """The fake's configs by name, with the calls the module made."""

    def __init__(self):
        super().__init__()
        self.calls = {"create": 0, "list": []}

    def fences(self):
        """{namespace: [(epoch, primary, fenced)]} of every config in the store, as its labels say."""
        out = {}
        for config in self.values():
            labels = config.attrs["Spec"]["Labels"]
            out.setdefault(labels[LABEL], []).append(
                (int(labels[LABEL + "-epoch"]), labels[LABEL + "-primary"], labels[LABEL + "-fenced"]))
        return dict((k, sorted(v)) for k, v in out.items())

    def names(self):
        return sorted(self)

    def add(self, name, labels):
        self[name] = FakeConfig(self, name, labels)


@pytest.fixture
def configs(swarm_client):
    store = Store()

    def create(name, data, labels):
        store.calls["create"] += 1
        if name in store:
            raise APIError("409 Client Error: config %s already exists" % name)
        store[name] = FakeConfig(store, name, labels, data)
        return store[name]

    def listing(filters):
        store.calls["list"].append(filters)
        key, _sep, value = filters["label"].partition("=")  # the API matches the label's key and value
        return [c for c in store.values() if c.attrs["Spec"]["Labels"].get(key) == value]

    swarm_client.configs.create.side_effect = create
    swarm_client.configs.list.side_effect = listing
    return store


def fence_labels(ns, epoch, primary, fenced=""):
    return {LABEL: ns, LABEL + "-epoch": str(epoch), LABEL + "-primary": primary, LABEL + "-fenced": fenced}


def run(run_module, check_mode=False, diff=False, **args):
    params = {"namespaces": PLAN}
    params.update(args)
    return run_module(namespace_fence, params, check_mode=check_mode, diff=diff)


# ------------------------------------------------------------------------------ present

def test_present_creates_epoch_1_for_each_namespace(run_module, configs):
    result = run(run_module).result
    assert result["changed"] is True and result["mismatch"] == []
    assert result["fences"] == {"wiki": {"epoch": 1, "primary": "node1", "fenced": []},
                                "db": {"epoch": 1, "primary": "node2", "fenced": []}}
    assert configs.names() == ["swarmdata-fence-db-1", "swarmdata-fence-wiki-1"]
    assert configs.fences() == {"wiki": [(1, "node1", "")], "db": [(1, "node2", "")]}
    # The config's data is the fence too, with its namespace.
    assert json.loads(configs["swarmdata-fence-wiki-1"].data) == {
        "epoch": 1, "primary": "node1", "fenced": [], "namespace": "wiki"}
    # Listed by the fence label, whose value is the namespace.
    assert {"label": "swarmdata.fence=wiki"} in configs.calls["list"]


def test_present_again_changes_nothing(run_module, configs):
    first = run(run_module).result
    created = configs.calls["create"]
    second = run(run_module).result
    assert second["changed"] is False and second["fences"] == first["fences"]
    assert configs.calls["create"] == created
    assert configs.names() == ["swarmdata-fence-db-1", "swarmdata-fence-wiki-1"]


def test_present_with_another_primary_fails_and_changes_nothing(run_module, configs):
    configs.add("swarmdata-fence-wiki-2", fence_labels("wiki", 2, "node3", "node1"))
    result = run(run_module).result
    assert result["failed"]
    msg = result["msg"]
    assert "namespace wiki: its primary in the swarm is node3 (fence epoch 2)" in msg
    assert "the inventory makes it node1. Nothing was changed" in msg
    assert "set primary: node3 on namespace wiki" in msg
    assert "playbooks/failover.yml -e namespace=wiki -e to=node1" in msg
    assert result["fences"] == {"wiki": {"epoch": 2, "primary": "node3", "fenced": ["node1"]}}
    # Not even db, which had no fence, got one: nothing is written before every namespace is checked.
    assert configs.names() == ["swarmdata-fence-wiki-2"] and configs.calls["create"] == 0


def test_present_with_move_to_promotes(run_module, configs):
    run(run_module)
    result = run(run_module, namespaces=[{"name": "wiki", "primary": "node3"}], move_to="node3").result
    assert result["changed"] is True
    assert result["fences"] == {"wiki": {"epoch": 2, "primary": "node3", "fenced": ["node1"]}}
    assert configs.fences()["wiki"] == [(2, "node3", "node1")]
    assert "swarmdata-fence-wiki-1" not in configs.names()


def test_present_with_move_to_another_host_still_fails(run_module, configs):
    run(run_module)
    result = run(run_module, namespaces=[{"name": "wiki", "primary": "node3"}], move_to="node2").result
    assert result["failed"] and "playbooks/failover.yml" in result["msg"]
    assert configs.fences()["wiki"] == [(1, "node1", "")]


def test_present_with_move_to_already_moved_changes_nothing(run_module, configs):
    run(run_module, namespaces=[{"name": "wiki", "primary": "node3"}])
    result = run(run_module, namespaces=[{"name": "wiki", "primary": "node3"}], move_to="node3").result
    assert result["changed"] is False and result["fences"]["wiki"]["epoch"] == 1


# ------------------------------------------------------------------------------ promote, admit

def test_promote_bumps_the_epoch_and_removes_the_old_config(run_module, configs):
    run(run_module)
    result = run(run_module, state="promote", namespace="wiki", to="node3").result
    assert result["changed"] is True
    assert result["fences"] == {"wiki": {"epoch": 2, "primary": "node3", "fenced": ["node1"]}}
    assert configs.names() == ["swarmdata-fence-db-1", "swarmdata-fence-wiki-2"]
    assert configs.fences()["wiki"] == [(2, "node3", "node1")]
    assert configs.fences()["db"] == [(1, "node2", "")]  # another namespace is untouched


def test_promote_with_hosts(run_module, configs):
    run(run_module)
    result = run(run_module, state="promote", namespace="wiki", to="node3", hosts=[]).result
    assert result["fences"]["wiki"] == {"epoch": 2, "primary": "node3", "fenced": []}
    result = run(run_module, state="promote", namespace="wiki", to="node2", hosts=["node1", "node3"]).result
    assert result["fences"]["wiki"] == {"epoch": 3, "primary": "node2", "fenced": ["node1", "node3"]}
    assert configs.fences()["wiki"] == [(3, "node2", "node1,node3")]


def test_promote_to_the_primary_fails_and_changes_nothing(run_module, configs):
    run(run_module)
    result = run(run_module, state="promote", namespace="wiki", to="node1").result
    assert result["failed"]
    assert result["msg"] == "namespace wiki: node1 is already the primary (epoch 1); nothing was changed"
    assert configs.fences()["wiki"] == [(1, "node1", "")]


def test_promote_without_a_fence_fails(run_module, configs):
    result = run(run_module, state="promote", namespace="wiki", to="node3").result
    assert result["failed"] and "run site.yml first" in result["msg"] and configs.names() == []
    assert result["fences"] == {"wiki": None}


@pytest.mark.parametrize("args, missing", [
    ({"state": "promote", "to": "node3"}, "namespace is required with state=promote"),
    ({"state": "admit", "hosts": ["node1"]}, "namespace is required with state=admit"),
    ({"state": "promote", "namespace": "wiki"}, "to is required with state=promote"),
])
def test_promote_and_admit_need_their_arguments(run_module, configs, args, missing):
    run(run_module)
    result = run(run_module, **args).result
    assert result["failed"] and result["msg"] == missing
    assert configs.names() == ["swarmdata-fence-db-1", "swarmdata-fence-wiki-1"]


def test_admit(run_module, configs):
    run(run_module)
    run(run_module, state="promote", namespace="wiki", to="node3")
    result = run(run_module, state="admit", namespace="wiki", hosts=["node1"]).result
    assert result["changed"] is True
    assert result["fences"] == {"wiki": {"epoch": 3, "primary": "node3", "fenced": []}}
    assert configs.fences()["wiki"] == [(3, "node3", "")]
    assert "swarmdata-fence-wiki-3" in configs.names() and "swarmdata-fence-wiki-2" not in configs.names()


def test_admit_a_host_not_fenced_fails(run_module, configs):
    run(run_module)
    result = run(run_module, state="admit", namespace="wiki", hosts=["node2"]).result
    assert result["failed"]
    assert result["msg"] == "namespace wiki: node2 is not fenced (fenced: none); nothing was changed"
    assert configs.fences()["wiki"] == [(1, "node1", "")]


# ------------------------------------------------------------------------------ query, reading

def test_query_only_reads_and_reports_mismatches(run_module, configs):
    configs.add("swarmdata-fence-wiki-2", fence_labels("wiki", 2, "node3", "node1"))
    result = run(run_module, state="query").result
    assert result["changed"] is False and result["mismatch"] == ["wiki"]
    assert result["fences"] == {"wiki": {"epoch": 2, "primary": "node3", "fenced": ["node1"]}, "db": None}
    assert configs.names() == ["swarmdata-fence-wiki-2"] and configs.calls["create"] == 0


def test_the_newest_epoch_wins_and_the_next_write_removes_the_rest(run_module, configs):
    # A crash between a new config and the removal of the old one leaves both.
    configs.add("swarmdata-fence-wiki-1", fence_labels("wiki", 1, "node1"))
    configs.add("swarmdata-fence-wiki-2", fence_labels("wiki", 2, "node3", "node1"))
    result = run(run_module, state="query", namespaces=[PLAN[0]]).result
    assert result["fences"]["wiki"] == {"epoch": 2, "primary": "node3", "fenced": ["node1"]}
    run(run_module, state="admit", namespace="wiki", hosts=["node1"])
    assert configs.names() == ["swarmdata-fence-wiki-3"]


def test_another_namespaces_fence_is_not_read(run_module, configs):
    configs.add("swarmdata-fence-wiki2-5", fence_labels("wiki2", 5, "node3"))
    result = run(run_module, namespaces=[PLAN[0]]).result
    assert result["fences"] == {"wiki": {"epoch": 1, "primary": "node1", "fenced": []}}
    assert configs.fences()["wiki2"] == [(5, "node3", "")]


def test_a_labelled_config_that_is_no_fence_fails(run_module, configs):
    configs.add("stray", {LABEL: "wiki", LABEL + "-epoch": "two"})
    result = run(run_module).result
    assert result["failed"]
    assert result["msg"] == ("Swarm config 'stray' is labelled swarmdata.fence=wiki but is not a fence this "
                             "collection made; remove it")
    assert configs.names() == ["stray"]


def test_label_prefix(run_module, configs):
    result = run(run_module, namespaces=[PLAN[0]], label_prefix="acme.data-sync").result
    assert result["changed"] is True
    assert configs.names() == ["acme.data-sync-fence-wiki-1"]
    labels = configs["acme.data-sync-fence-wiki-1"].attrs["Spec"]["Labels"]
    assert labels == {"acme.data-sync.fence": "wiki", "acme.data-sync.fence-epoch": "1",
                      "acme.data-sync.fence-primary": "node1", "acme.data-sync.fence-fenced": ""}
    # The default prefix does not see it.
    assert run(run_module, namespaces=[PLAN[0]], state="query").result["fences"] == {"wiki": None}


def test_an_api_error_fails_cleanly(run_module, configs, swarm_client):
    swarm_client.configs.create.side_effect = APIError("500 Server Error: boom")
    result = run(run_module, namespaces=[PLAN[0]]).result
    assert result["failed"] and result["msg"].startswith("cannot keep the fence of namespace 'wiki' in the swarm")
    assert "boom" in result["msg"] and configs.names() == []


# ------------------------------------------------------------------------------ check mode, diff

def test_check_mode_writes_nothing_but_reports_changed(run_module, configs):
    result = run(run_module, check_mode=True).result
    assert result["changed"] is True
    assert result["fences"] == {"wiki": {"epoch": 1, "primary": "node1", "fenced": []},
                                "db": {"epoch": 1, "primary": "node2", "fenced": []}}
    assert configs.names() == [] and configs.calls["create"] == 0


def test_check_mode_promote_writes_nothing(run_module, configs):
    run(run_module)
    result = run(run_module, check_mode=True, state="promote", namespace="wiki", to="node3").result
    assert result["changed"] is True and result["fences"]["wiki"]["epoch"] == 2
    assert configs.names() == ["swarmdata-fence-db-1", "swarmdata-fence-wiki-1"]


def test_diff_before_and_after(run_module, configs):
    run(run_module)
    result = run(run_module, diff=True, state="promote", namespace="wiki", to="node3").result
    assert result["diff"] == {"before": {"wiki": {"epoch": 1, "primary": "node1", "fenced": []}},
                              "after": {"wiki": {"epoch": 2, "primary": "node3", "fenced": ["node1"]}}}


def test_diff_of_a_new_fence(run_module, configs):
    result = run(run_module, diff=True, check_mode=True, namespaces=[PLAN[0]]).result
    assert result["diff"] == {"before": {"wiki": None},
                              "after": {"wiki": {"epoch": 1, "primary": "node1", "fenced": []}}}


def test_no_diff_unless_asked(run_module, configs):
    assert "diff" not in run(run_module).result
