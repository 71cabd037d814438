# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/swarm_ssh_keys.py and plugins/module_utils/_sshkeys.py against a fake Swarm secret store."""

import shutil
import subprocess

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils import _sshkeys
from ansible_collections.swarmdata.replication.plugins.modules import swarm_ssh_keys
from cryptography.hazmat.primitives import serialization
from docker.errors import APIError

PRIVATE_HEADER = b"-----BEGIN OPENSSH PRIVATE KEY-----"
# base64 of "openssh-key-v1", the start of every OpenSSH private key body.
PRIVATE_BODY_MARK = "b3BlbnNzaC1rZXktdjE"
NAME = "swarmdata-mover-key"


class FakeSecret:
    def __init__(self, secret_id, name, labels=None):
        self.id = secret_id
        self.name = name
        self.attrs = {"ID": secret_id, "Spec": {"Name": name, "Labels": labels}}
        self.removed = False

    def remove(self):
        self.removed = True
        return True


@pytest.fixture
def store(swarm_client, mocker):
    """The swarm's secrets; list() filters by name prefix like the Engine API does, create() records data."""
    secrets = []
    created = []

    def list_secrets(filters=None):
        prefix = (filters or {}).get("name", "")
        return [s for s in secrets if s.name.startswith(prefix)]

    def create_secret(name, data, labels=None):
        created.append({"name": name, "data": data, "labels": dict(labels or {})})
        secret = FakeSecret(f"sec-{len(created)}", name, labels)
        secrets.append(secret)
        return secret

    swarm_client.secrets.list.side_effect = list_secrets
    swarm_client.secrets.create.side_effect = create_secret
    return mocker.Mock(secrets=secrets, created=created, client=swarm_client)


@pytest.fixture
def keys_run(run_module, store):
    def _run(keys, check_mode=False, diff=False, **args):
        params = {"keys": keys}
        params.update(args)
        return run_module(swarm_ssh_keys, params, check_mode=check_mode, diff=diff)

    return _run


def ours(secret_id, name, public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExisting", fp="SHA256:existing"):
    return FakeSecret(secret_id, name, {"swarmdata.public_key": public_key, "swarmdata.fingerprint": fp,
                                        "swarmdata.kind": "ssh-ed25519"})


def assert_no_private_material(text):
    assert "PRIVATE KEY" not in text
    assert PRIVATE_BODY_MARK not in text


def test_create_stores_private_key_in_secret_and_public_in_labels(keys_run, store):
    run = keys_run([{"name": NAME, "comment": "swarmdata mover"}])
    assert run.rc == 0
    assert run.result["changed"] is True

    [created] = store.created
    assert created["name"] == NAME
    assert isinstance(created["data"], bytes)
    assert created["data"].startswith(PRIVATE_HEADER)
    labels = created["labels"]
    assert set(labels) == {"swarmdata.public_key", "swarmdata.fingerprint", "swarmdata.kind"}
    assert labels["swarmdata.kind"] == "ssh-ed25519"
    public = labels["swarmdata.public_key"]
    assert public.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")
    assert public.endswith(" swarmdata mover")
    assert labels["swarmdata.fingerprint"].startswith("SHA256:")

    # The private key in the secret is the one whose public half is in the label.
    private = serialization.load_ssh_private_key(created["data"], password=None)
    derived = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert derived.decode("ascii") == " ".join(public.split()[:2])

    assert run.result["keys"] == {NAME: {"public_key": public, "fingerprint": labels["swarmdata.fingerprint"],
                                         "secret_id": "sec-1"}}


def test_result_never_contains_private_material(keys_run, store):
    run = keys_run([{"name": NAME}, {"name": "swarmdata-hostkey-node2", "comment": "node2"}], diff=True)
    assert run.rc == 0
    assert len(store.created) == 2
    # The test itself must be able to see the material it looks for.
    assert all(c["data"].startswith(PRIVATE_HEADER) for c in store.created)
    assert all(PRIVATE_BODY_MARK in c["data"].decode("ascii") for c in store.created)
    assert_no_private_material(run.stdout)
    for created in store.created:
        body = b"".join(created["data"].splitlines()[1:-1]).decode("ascii")
        assert body[:40] not in run.stdout


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")
def test_fingerprint_label_matches_ssh_keygen(keys_run, store, tmp_path):
    keys_run([{"name": NAME, "comment": "swarmdata mover"}])
    [created] = store.created
    pub = tmp_path / "key.pub"
    pub.write_text(created["labels"]["swarmdata.public_key"] + "\n")
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)], check=True, capture_output=True,
                         text=True).stdout
    # "256 SHA256:... swarmdata mover (ED25519)"
    assert out.split()[1] == created["labels"]["swarmdata.fingerprint"]


def test_fingerprint_function_known_vector():
    # A fixed key and the fingerprint `ssh-keygen -lf` printed for it (OpenSSH, once, offline).
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMsBpZ3rNXEGvzlEHh4GH3qSywQwtGcRDZiHSTsCRQRv test"
    assert _sshkeys.fingerprint(line) == "SHA256:I0JHY2XTJ8tMY2OBvS2x8ePQ6WGahP3X1IfX+PyzTOY"


def test_each_key_is_new(keys_run, store):
    keys_run([{"name": "k1"}, {"name": "k2"}])
    first, second = store.created
    assert first["data"] != second["data"]
    assert first["labels"]["swarmdata.public_key"] != second["labels"]["swarmdata.public_key"]
    # No comment: the public key line is just type and base64.
    assert len(first["labels"]["swarmdata.public_key"].split()) == 2


def test_existing_secret_of_ours_is_not_changed(keys_run, store):
    store.secrets.append(ours("sec-old", NAME))
    run = keys_run([{"name": NAME, "comment": "ignored for an existing key"}])
    assert run.rc == 0
    assert run.result["changed"] is False
    assert run.result["keys"] == {NAME: {"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExisting",
                                         "fingerprint": "SHA256:existing", "secret_id": "sec-old"}}
    store.client.secrets.create.assert_not_called()
    store.client.secrets.list.assert_called_with(filters={"name": NAME})


def test_name_filter_is_exact(keys_run, store):
    # The API filters by prefix; a longer-named foreign secret must be neither reused nor refused.
    store.secrets.append(FakeSecret("sec-foreign", NAME + "-old", {"unrelated": "1"}))
    run = keys_run([{"name": NAME}])
    assert run.rc == 0
    assert run.result["changed"] is True
    assert [c["name"] for c in store.created] == [NAME]


@pytest.mark.parametrize("labels", [None, {}, {"owner": "someone-else"}, {"swarmdata.fingerprint": "SHA256:x"}])
def test_foreign_secret_is_refused(keys_run, store, labels):
    foreign = FakeSecret("sec-foreign", NAME, labels)
    store.secrets.append(foreign)
    run = keys_run([{"name": NAME}])
    assert run.rc == 1
    assert "was not made by this collection" in run.result["msg"]
    assert repr(NAME) in run.result["msg"]
    assert "swarmdata.public_key" in run.result["msg"]
    store.client.secrets.create.assert_not_called()
    assert foreign.removed is False


def test_foreign_secret_is_not_removed_by_absent(keys_run, store):
    foreign = FakeSecret("sec-foreign", NAME, {"owner": "someone-else"})
    store.secrets.append(foreign)
    run = keys_run([{"name": NAME}], state="absent")
    assert run.rc == 1
    assert "was not made by this collection" in run.result["msg"]
    assert foreign.removed is False


def test_check_mode_creates_nothing(keys_run, store):
    run = keys_run([{"name": NAME}], check_mode=True, diff=True)
    assert run.rc == 0
    assert run.result["changed"] is True
    assert run.result["keys"] == {NAME: {"public_key": None, "fingerprint": None, "secret_id": None}}
    assert run.result["diff"] == {"before": {NAME: "absent"}, "after": {NAME: "present"}}
    store.client.secrets.create.assert_not_called()
    assert store.created == []


def test_check_mode_with_existing_is_not_changed(keys_run, store):
    store.secrets.append(ours("sec-old", NAME))
    run = keys_run([{"name": NAME}], check_mode=True)
    assert run.result["changed"] is False
    assert run.result["keys"][NAME]["public_key"].startswith("ssh-ed25519 ")


def test_absent_removes(keys_run, store):
    secret = ours("sec-old", NAME)
    other = ours("sec-other", "swarmdata-hostkey-node2")
    store.secrets.extend([secret, other])
    run = keys_run([{"name": NAME}], state="absent", diff=True)
    assert run.rc == 0
    assert run.result["changed"] is True
    assert secret.removed is True
    assert other.removed is False
    assert run.result["keys"] == {}
    assert run.result["diff"] == {"before": {NAME: "present"}, "after": {NAME: "absent"}}


def test_absent_check_mode_keeps_secret(keys_run, store):
    secret = ours("sec-old", NAME)
    store.secrets.append(secret)
    run = keys_run([{"name": NAME}], state="absent", check_mode=True)
    assert run.result["changed"] is True
    assert secret.removed is False


def test_absent_of_missing_is_not_changed(keys_run, store):
    run = keys_run([{"name": NAME}], state="absent")
    assert run.rc == 0
    assert run.result["changed"] is False


@pytest.mark.parametrize("bad", ["", "a" * 65, "bad name", "x/y", "key\n", "ключ"])
def test_invalid_name_fails_before_touching_docker(keys_run, store, bad):
    run = keys_run([{"name": "fine"}, {"name": bad}])
    assert run.rc == 1
    assert run.result["msg"] == f"keys[1].name {bad!r} must be 1-64 characters of [A-Za-z0-9_.-]"
    store.client.factory.assert_not_called()
    assert store.created == []


def test_name_of_64_characters_is_fine(keys_run, store):
    run = keys_run([{"name": "a" * 64}])
    assert run.rc == 0
    assert [c["name"] for c in store.created] == ["a" * 64]


def test_custom_label_prefix(keys_run, store):
    run = keys_run([{"name": NAME}], label_prefix="acme.")
    assert run.rc == 0
    [created] = store.created
    assert set(created["labels"]) == {"acme.public_key", "acme.fingerprint", "acme.kind"}
    # A secret of ours under the old prefix is foreign under the new one.
    store.secrets[:] = [ours("sec-old", "other")]
    run = keys_run([{"name": "other"}], label_prefix="acme")
    assert run.rc == 1
    assert "no acme.public_key label" in run.result["msg"]


def test_api_error_on_create_fails_without_private_material(keys_run, store):
    store.client.secrets.create.side_effect = APIError("409 Conflict: name conflicts with an existing object")
    run = keys_run([{"name": NAME}])
    assert run.rc == 1
    assert run.result["msg"].startswith(f"cannot create Swarm secret {NAME!r}: ")
    assert "409 Conflict" in run.result["msg"]
    assert_no_private_material(run.stdout)


def test_not_a_swarm_manager_fails(keys_run, store):
    store.client.info.return_value = {"Swarm": {"LocalNodeState": "inactive"}}
    run = keys_run([{"name": NAME}])
    assert run.rc == 1
    assert "not an active Swarm manager (LocalNodeState=inactive)" in run.result["msg"]
    store.client.secrets.list.assert_not_called()


def test_generate_ed25519_returns_matching_pair():
    private, public = _sshkeys.generate_ed25519("c m")
    assert private.startswith(PRIVATE_HEADER)
    key = serialization.load_ssh_private_key(private, password=None)
    derived = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert public == derived.decode("ascii") + " c m"
