# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/namespace_ids.py against a fake Swarm config store."""

import uuid

import pytest
from ansible_collections.swarmdata.replication.plugins.modules import namespace_ids


class FakeConfig(object):
    def __init__(self, store, name, labels):
        self.store, self.name, self.id = store, name, "cfg-" + name
        self.attrs = {"Spec": {"Name": name, "Labels": labels}}

    def remove(self):
        del self.store[self.name]


@pytest.fixture
def configs(swarm_client):
    store = {}

    def create(name, data, labels):
        assert data.decode("ascii").strip() == labels["swarmdata.namespace-id"]
        store[name] = FakeConfig(store, name, labels)
        return store[name]

    def listing(filters):
        return [c for n, c in store.items() if n.startswith(filters["name"])]  # the API matches prefixes

    swarm_client.configs.create.side_effect = create
    swarm_client.configs.list.side_effect = listing
    return store


def run(run_module, check_mode=False, diff=False, **args):
    params = {"names": ["wiki", "db"]}
    params.update(args)
    return run_module(namespace_ids, params, check_mode=check_mode, diff=diff)


def test_made_once_then_read_back(run_module, configs):
    first = run(run_module)
    assert first.result["changed"] is True and first.result["created"] == ["wiki", "db"]
    for name in ("wiki", "db"):
        uuid.UUID(first.result["ids"][name])
    second = run(run_module)  # a second controller: same identities, nothing changed
    assert second.result["changed"] is False and second.result["created"] == []
    assert second.result["ids"] == first.result["ids"]


def test_a_prefix_match_is_not_the_config(run_module, configs):
    run(run_module, names=["wiki2"])
    first = run(run_module, names=["wiki"])
    assert first.result["created"] == ["wiki"]


def test_check_mode_creates_nothing(run_module, configs):
    result = run(run_module, check_mode=True, diff=True).result
    assert result["changed"] is True and result["ids"] == {"wiki": None, "db": None} and configs == {}
    assert result["diff"] == {"before": {"wiki": None, "db": None}, "after": {"wiki": None, "db": None}}


def test_a_foreign_config_is_refused(run_module, configs):
    configs["swarmdata-ns-wiki"] = FakeConfig(configs, "swarmdata-ns-wiki", {"owner": "someone"})
    result = run(run_module).result
    assert result["failed"] and "not made by this collection" in result["msg"]


def test_absent_removes(run_module, configs):
    run(run_module)
    result = run(run_module, state="absent", names=["wiki"]).result
    assert result["changed"] is True and list(configs) == ["swarmdata-ns-db"]


def test_bad_name(run_module, configs):
    result = run(run_module, names=["../x"]).result
    assert result["failed"] and "names" in result["msg"]


ADOPT = "8a1c0f0e-3d0f-4a52-9c1e-5b7a2b9e4d11"


def test_a_new_swarm_adopts_the_identity_the_copies_hold(run_module, configs):
    result = run(run_module, names=["wiki"], found={"wiki": [ADOPT, ADOPT]}).result
    assert result["ids"] == {"wiki": ADOPT} and result["adopted"] == ["wiki"] and result["created"] == []
    assert configs["swarmdata-ns-wiki"].attrs["Spec"]["Labels"]["swarmdata.namespace-id"] == ADOPT


def test_two_different_identities_found_change_nothing(run_module, configs):
    result = run(run_module, names=["wiki"], found={"wiki": [ADOPT, "00000000-0000-4000-8000-000000000000"]}).result
    assert result["failed"] and "2 different identities" in result["msg"] and configs == {}


def test_a_found_marker_that_is_no_identity_changes_nothing(run_module, configs):
    result = run(run_module, names=["wiki"], found={"wiki": ["garbage"]}).result
    assert result["failed"] and "not an identity" in result["msg"] and configs == {}


def test_found_markers_do_not_replace_an_existing_identity(run_module, configs):
    first = run(run_module, names=["wiki"]).result["ids"]["wiki"]
    again = run(run_module, names=["wiki"], found={"wiki": [ADOPT]}).result
    assert again["ids"]["wiki"] == first and again["changed"] is False


def test_query_only_reads(run_module, configs):
    result = run(run_module, names=["wiki"], state="query").result
    assert result["changed"] is False and result["ids"] == {"wiki": None} and configs == {}
