# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_secrets.py: names, ownership, create, rotate, remove and diff, on a fake secret store."""

import json

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils import _secrets
from ansible_collections.swarmdata.replication.plugins.module_utils._secrets import Kind, SecretStore
from docker.errors import APIError

DATA = b"TOP-SECRET-DATA-0123456789"
WIDGET = Kind("widget", required=["pub"], legacy=["pub"])
PLAIN = Kind("plain")


class Failed(Exception):
    def __init__(self, kwargs):
        super().__init__(kwargs.get("msg"))
        self.kwargs = kwargs


class FakeModule:
    def __init__(self, check_mode=False, diff=False):
        self.check_mode = check_mode
        self._diff = diff

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class FakeSecret:
    def __init__(self, client, name, labels=None, data=None):
        self.client = client
        self.id = "sec-%d" % (len(client.all) + len(client.removed) + 1)
        self.name = name
        self.data = data
        self.attrs = {"ID": self.id, "Spec": {"Name": name, "Labels": labels}}
        self.in_use = False

    def remove(self):
        if self.in_use:
            raise APIError("secret %s is in use by the following service: app" % self.name)
        self.client.all.remove(self)
        self.client.removed.append(self)
        return True


class FakeClient:
    """client.secrets: list() filters by name prefix as the Engine API does; create() keeps the data."""

    def __init__(self):
        self.secrets = self
        self.all, self.removed, self.list_filters = [], [], []
        self.create_error = ""

    def list(self, filters=None):
        self.list_filters.append(filters)
        prefix = (filters or {}).get("name", "")
        return [s for s in self.all if s.name.startswith(prefix)]

    def create(self, name, data, labels=None):
        if self.create_error:
            raise APIError(self.create_error)
        secret = FakeSecret(self, name, dict(labels or {}), data)
        self.all.append(secret)
        return secret


@pytest.fixture
def client():
    return FakeClient()


def add(client, name, labels):
    secret = FakeSecret(client, name, labels)
    client.all.append(secret)
    return secret


def make(calls=None):
    def _make():
        if calls is not None:
            calls.append(1)
        return DATA, {"pub": "public-part"}
    return _make


def store(client, check_mode=False, diff=False, prefix="swarmdata"):
    return SecretStore(FakeModule(check_mode, diff), client, prefix)


@pytest.mark.parametrize("name, ok", [("a", True), ("a" * 64, True), ("A.b_c-9", True), ("", False),
                                      ("a" * 65, False), ("a b", False), ("x/y", False), ("k\n", False),
                                      ("ключ", False)])
def test_valid_name(name, ok):
    assert _secrets.valid_name(name) is ok


def test_name_error_names_the_entry_and_the_rule():
    assert _secrets.name_error([("k[0]", "a"), ("k[1]", "b")]) is None
    assert _secrets.name_error([("k[0]", "a"), ("k[1]", "a")]) == "k[0] 'a' is listed more than once"
    assert _secrets.name_error([("k[0]", "ok"), ("k[1]", "bad name")]) == \
        "k[1] 'bad name' must be 1-64 characters of [A-Za-z0-9_.-]"


def test_lookup_is_exact_although_the_api_filters_by_prefix(client):
    add(client, "key-old", {"swarmdata.kind": "widget", "swarmdata.pub": "x"})
    assert _secrets.find_secret(client, "key") is None
    assert client.list_filters == [{"name": "key"}]
    mine = add(client, "key", {"swarmdata.kind": "widget", "swarmdata.pub": "x"})
    assert _secrets.find_secret(client, "key") is mine


def test_create_labels_the_kind_and_returns_no_data(client):
    s = store(client, diff=True)
    calls = []
    secret_id, labels = s.ensure("k", WIDGET, make(calls))
    assert calls == [1]
    [made] = client.all
    assert made.data == DATA
    assert labels == {"swarmdata.kind": "widget", "swarmdata.pub": "public-part"} == made.attrs["Spec"]["Labels"]
    assert secret_id == made.id
    result = s.result(extra=1)
    assert result == {"extra": 1, "changed": True, "diff": {"before": {"k": "absent"}, "after": {"k": "present"}}}
    assert DATA.decode() not in json.dumps(result)


def test_existing_secret_of_ours_is_kept_and_make_is_not_called(client):
    mine = add(client, "k", {"swarmdata.kind": "widget", "swarmdata.pub": "old"})
    s = store(client)
    calls = []
    assert s.ensure("k", WIDGET, make(calls)) == (mine.id, {"swarmdata.kind": "widget", "swarmdata.pub": "old"})
    assert calls == [] and s.changed is False and len(client.all) == 1
    assert "diff" not in s.result()


def test_a_secret_made_before_the_kind_label_is_accepted_by_its_legacy_labels(client):
    add(client, "k", {"swarmdata.pub": "old", "swarmdata.fingerprint": "SHA256:x"})
    s = store(client)
    assert s.ensure("k", WIDGET, make())[1]["swarmdata.pub"] == "old"
    assert s.changed is False


@pytest.mark.parametrize("labels, why", [
    (None, "its swarmdata.kind label is None and it has no swarmdata.pub label"),
    ({"owner": "x"}, "its swarmdata.kind label is None and it has no swarmdata.pub label"),
    ({"swarmdata.kind": "other", "swarmdata.pub": "x"}, "its swarmdata.kind label is 'other'"),
    ({"swarmdata.kind": "widget"}, "its swarmdata.kind label is 'widget' and it has no swarmdata.pub label"),
    ({"acme.kind": "widget", "acme.pub": "x"}, "its swarmdata.kind label is None and it has no swarmdata.pub"),
])
def test_a_foreign_secret_is_refused_never_replaced_or_removed(client, labels, why):
    foreign = add(client, "k", labels)
    for action in (lambda s: s.ensure("k", WIDGET, make()), lambda s: s.ensure("k", WIDGET, make(), rotate=True),
                   lambda s: s.remove("k", WIDGET)):
        with pytest.raises(Failed) as exc:
            action(store(client))
        msg = exc.value.kwargs["msg"]
        assert msg.startswith("Swarm secret 'k' exists but was not made by this collection as a widget (")
        assert why in msg and msg.endswith("; remove it or choose another name")
    assert client.all == [foreign] and client.removed == []


def test_a_kind_without_legacy_labels_accepts_only_its_kind_label(client):
    add(client, "k", {"swarmdata.pub": "x"})
    with pytest.raises(Failed):
        store(client).ensure("k", PLAIN, make())
    client.all[0].attrs["Spec"]["Labels"] = {"swarmdata.kind": "plain"}
    assert store(client).ensure("k", PLAIN, make())[0] == client.all[0].id


def test_the_label_prefix_is_the_callers(client):
    s = store(client, prefix="acme.")
    assert s.label("kind") == "acme.kind"
    s.ensure("k", WIDGET, make())
    assert set(client.all[0].attrs["Spec"]["Labels"]) == {"acme.kind", "acme.pub"}


def test_check_mode_makes_nothing_and_never_calls_make(client):
    s = store(client, check_mode=True, diff=True)
    calls = []
    assert s.ensure("k", WIDGET, make(calls)) == (None, None)
    assert calls == [] and client.all == [] and s.changed is True
    assert s.result()["diff"] == {"before": {"k": "absent"}, "after": {"k": "present"}}


def test_an_engine_error_on_create_names_the_secret_not_the_data(client):
    client.create_error = "409 Conflict: name conflicts with an existing object"
    with pytest.raises(Failed) as exc:
        store(client).ensure("k", WIDGET, make())
    text = json.dumps(exc.value.kwargs)
    assert exc.value.kwargs["msg"].startswith("cannot create Swarm secret 'k': ")
    assert "409 Conflict" in text and DATA.decode() not in text


def test_rotate_is_off_by_default_and_replaces_only_when_asked(client):
    old = add(client, "k", {"swarmdata.kind": "widget", "swarmdata.pub": "old"})
    s = store(client, diff=True)
    secret_id, labels = s.ensure("k", WIDGET, make(), rotate=True)
    assert client.removed == [old]
    [new] = client.all
    assert new.id == secret_id != old.id and new.data == DATA and labels["swarmdata.pub"] == "public-part"
    assert s.result()["diff"] == {"before": {"k": "present"}, "after": {"k": "rotated"}}


def test_rotate_of_a_missing_secret_just_makes_it(client):
    s = store(client)
    s.ensure("k", WIDGET, make(), rotate=True)
    assert len(client.all) == 1 and client.removed == [] and s.after == {"k": "present"}


def test_rotate_in_check_mode_changes_nothing(client):
    old = add(client, "k", {"swarmdata.kind": "widget", "swarmdata.pub": "old"})
    calls = []
    s = store(client, check_mode=True)
    assert s.ensure("k", WIDGET, make(calls), rotate=True) == (None, None)
    assert s.changed is True and calls == [] and client.all == [old] and client.removed == []


def test_rotate_of_a_secret_in_use_fails_and_keeps_it(client):
    old = add(client, "k", {"swarmdata.kind": "widget", "swarmdata.pub": "old"})
    old.in_use = True
    with pytest.raises(Failed) as exc:
        store(client).ensure("k", WIDGET, make(), rotate=True)
    msg = exc.value.kwargs["msg"]
    assert msg.startswith("cannot rotate Swarm secret 'k': ") and "in use" in msg and "redeployed" in msg
    assert DATA.decode() not in json.dumps(exc.value.kwargs)
    assert client.all == [old]


def test_remove(client):
    mine = add(client, "k", {"swarmdata.kind": "plain"})
    other = add(client, "k2", {"swarmdata.kind": "plain"})
    s = store(client, diff=True)
    s.remove("k", PLAIN)
    s.remove("gone", PLAIN)
    assert client.removed == [mine] and client.all == [other] and s.changed is True
    assert s.result()["diff"] == {"before": {"k": "present", "gone": "absent"},
                                  "after": {"k": "absent", "gone": "absent"}}


def test_remove_in_check_mode_and_of_a_missing_secret(client):
    mine = add(client, "k", {"swarmdata.kind": "plain"})
    s = store(client, check_mode=True)
    s.remove("k", PLAIN)
    assert s.changed is True and client.all == [mine]
    s = store(client)
    s.remove("missing", PLAIN)
    assert s.changed is False


@pytest.fixture
def module_store(swarm_client):
    fake = FakeClient()
    swarm_client.secrets = fake
    return fake


def test_swarm_ssh_keys_rotate_makes_a_new_key_under_the_same_name(run_module, module_store):
    from ansible_collections.swarmdata.replication.plugins.modules import swarm_ssh_keys

    first = run_module(swarm_ssh_keys, {"keys": [{"name": "k"}]})
    again = run_module(swarm_ssh_keys, {"keys": [{"name": "k"}]})
    assert again.result["changed"] is False and again.result["keys"] == first.result["keys"]
    rotated = run_module(swarm_ssh_keys, {"keys": [{"name": "k"}], "rotate": True}, diff=True)
    assert rotated.rc == 0 and rotated.result["changed"] is True
    assert rotated.result["keys"]["k"]["public_key"] != first.result["keys"]["k"]["public_key"]
    assert rotated.result["diff"] == {"before": {"k": "present"}, "after": {"k": "rotated"}}
    assert [s.name for s in module_store.all] == ["k"] and len(module_store.removed) == 1
    assert "PRIVATE KEY" not in rotated.stdout


def test_swarm_syncthing_ids_rotate_gives_new_device_ids(run_module, module_store):
    from ansible_collections.swarmdata.replication.plugins.modules import swarm_syncthing_ids

    args = {"identities": [{"name": "id-n1", "host": "n1"}], "api_key_secret": "api"}
    first = run_module(swarm_syncthing_ids, args)
    assert run_module(swarm_syncthing_ids, args).result["changed"] is False
    rotated = run_module(swarm_syncthing_ids, dict(args, rotate=True))
    assert rotated.result["changed"] is True
    assert rotated.result["device_ids"]["n1"] != first.result["device_ids"]["n1"]
    assert sorted(s.name for s in module_store.all) == ["api", "id-n1"] and len(module_store.removed) == 2
