# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/swarm_syncthing_ids.py against a fake Swarm secret store."""

import json

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils._syncthing import device_id_from_pem
from ansible_collections.swarmdata.replication.plugins.modules import swarm_syncthing_ids

IDS = [{"name": "swarmdata-syncthing-node1", "host": "node1"}, {"name": "swarmdata-syncthing-node2", "host": "node2"}]
API = "swarmdata-syncthing-apikey"


class FakeSecret:
    def __init__(self, name, labels):
        self.id = "sec-" + name
        self.name = name
        self.attrs = {"ID": self.id, "Spec": {"Name": name, "Labels": labels}}


@pytest.fixture
def store(swarm_client):
    secrets, created = [], []

    def list_secrets(filters=None):
        prefix = (filters or {}).get("name", "")
        return [s for s in secrets if s.name.startswith(prefix)]

    def create_secret(name, data, labels=None):
        created.append({"name": name, "data": data, "labels": dict(labels or {})})
        secrets.append(FakeSecret(name, dict(labels or {})))

    swarm_client.secrets.list.side_effect = list_secrets
    swarm_client.secrets.create.side_effect = create_secret
    return {"secrets": secrets, "created": created}


@pytest.fixture
def ids_run(run_module, store):
    def _run(check_mode=False, diff=False, **args):
        params = {"identities": IDS, "api_key_secret": API}
        params.update(args)
        return run_module(swarm_syncthing_ids, params, check_mode=check_mode, diff=diff)

    return _run


def test_creates_identities_with_their_device_ids_as_labels(ids_run, store):
    run = ids_run()
    assert run.rc == 0, run.result
    assert run.result["changed"] is True
    by_name = dict((c["name"], c) for c in store["created"])
    assert sorted(by_name) == sorted([i["name"] for i in IDS] + [API])
    for ident in IDS:
        made = by_name[ident["name"]]
        pem = made["data"].decode("ascii")
        assert pem.startswith("-----BEGIN PRIVATE KEY-----") and "-----BEGIN CERTIFICATE-----" in pem
        device = device_id_from_pem(pem[pem.index("-----BEGIN CERTIFICATE-----"):])
        assert made["labels"] == {"swarmdata.device_id": device, "swarmdata.kind": "syncthing-identity"}
        assert run.result["device_ids"][ident["host"]] == device
    assert len(by_name[API]["data"]) >= 40 and by_name[API]["labels"] == {"swarmdata.kind": "syncthing-apikey"}


def test_second_run_reads_labels_and_changes_nothing(ids_run, store):
    first = ids_run()
    second = ids_run()
    assert second.result["changed"] is False
    assert second.result["device_ids"] == first.result["device_ids"]
    assert len(store["created"]) == 3


def test_no_private_key_or_api_key_in_the_result(ids_run, store):
    run = ids_run(diff=True)
    text = json.dumps(run.result) + run.stdout
    assert "PRIVATE KEY" not in text
    api_key = [c for c in store["created"] if c["name"] == API][0]["data"].decode()
    assert api_key not in text


def test_check_mode_creates_nothing_and_reports(ids_run, store):
    run = ids_run(check_mode=True, diff=True)
    assert run.result["changed"] is True
    assert store["created"] == []
    assert run.result["device_ids"] == {"node1": None, "node2": None}
    assert run.result["diff"]["before"][API] == "absent" and run.result["diff"]["after"][API] == "present"


def test_a_foreign_secret_of_the_same_name_is_refused(ids_run, store):
    store["secrets"].append(FakeSecret("swarmdata-syncthing-node1", {"owner": "someone"}))
    run = ids_run()
    assert run.failed and "not made by this collection" in run.result["msg"]
    assert store["created"] == []


@pytest.mark.parametrize("identities, message", [
    ([{"name": "a", "host": "n1"}, {"name": "a", "host": "n2"}], "listed more than once"),
    ([{"name": "a", "host": "n1"}, {"name": "b", "host": "n1"}], "host(s) n1 listed more than once"),
    ([{"name": "bad name", "host": "n1"}], "must be 1-64 characters"),
])
def test_bad_input_is_refused_before_anything_is_made(ids_run, store, identities, message):
    run = ids_run(identities=identities)
    assert run.failed and message in run.result["msg"]
    assert store["created"] == []
