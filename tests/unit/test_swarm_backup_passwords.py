# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/swarm_backup_passwords.py against a fake Swarm secret store (the fixtures of the ssh-keys test)."""

from ansible_collections.swarmdata.replication.plugins.modules import swarm_backup_passwords

import test_swarm_ssh_keys
from test_swarm_ssh_keys import FakeSecret

store = test_swarm_ssh_keys.store  # the fake secret store fixture, used by name

NAMES = ["swarmdata-restic-wiki", "swarmdata-restic-db"]


def run(run_module, check_mode=False, diff=False, **args):
    return run_module(swarm_backup_passwords, dict({"names": NAMES}, **args), check_mode=check_mode, diff=diff)


def test_makes_one_random_password_per_name_never_in_the_result(run_module, store):
    first = run(run_module, diff=True)
    assert first.result["changed"] is True
    assert [c["name"] for c in store.created] == NAMES
    datas = [c["data"] for c in store.created]
    assert all(len(d) == 64 and int(d, 16) for d in datas) and datas[0] != datas[1]
    assert all(c["labels"] == {"swarmdata.kind": "restic-password"} for c in store.created)
    for data in datas:
        assert data.decode() not in first.stdout
    assert first.result["diff"] == {"before": dict.fromkeys(NAMES, "absent"), "after": dict.fromkeys(NAMES, "present")}


def test_a_second_run_changes_nothing_and_never_replaces_a_password(run_module, store):
    run(run_module)
    again = run(run_module)
    assert again.result["changed"] is False
    assert len(store.created) == 2
    assert again.result["secrets"] == {NAMES[0]: "sec-1", NAMES[1]: "sec-2"}


def test_check_mode_makes_nothing(run_module, store):
    result = run(run_module, check_mode=True).result
    assert result["changed"] is True and store.created == []
    assert result["secrets"] == dict.fromkeys(NAMES)


def test_a_secret_of_that_name_not_ours_is_an_error_and_kept(run_module, store):
    foreign = FakeSecret("x1", NAMES[0], {"owner": "someone"})
    store.secrets.append(foreign)
    failed = run(run_module)
    assert failed.rc == 1 and NAMES[0] in failed.result["msg"]
    assert not foreign.removed and store.created == []


def test_a_bad_name_is_refused_naming_it(run_module, store):
    failed = run(run_module, names=["bad name!"])
    assert failed.rc == 1 and "names[0]" in failed.result["msg"]


def test_http_credentials_carry_their_htpasswd_line_and_the_password_is_never_returned(run_module, store):
    import base64
    import hashlib

    first = run(run_module, http_names=["swarmdata-backup-http"])
    made = [c for c in store.created if c["name"] == "swarmdata-backup-http"][0]
    password = made["data"]
    line = "swarmdata:{SHA}" + base64.b64encode(hashlib.sha1(password).digest()).decode()
    assert made["labels"] == {"swarmdata.kind": "backup-http", "swarmdata.htpasswd": line}
    assert first.result["htpasswd"] == {"swarmdata-backup-http": line}
    assert password.decode() not in first.stdout
    # A second controller reads the line back from the label and makes nothing.
    again = run(run_module, http_names=["swarmdata-backup-http"])
    assert again.result["changed"] is False and again.result["htpasswd"] == {"swarmdata-backup-http": line}
    assert len(store.created) == 3


def test_a_restic_password_is_never_taken_for_http_credentials(run_module, store):
    run(run_module)
    failed = run(run_module, names=[], http_names=[NAMES[0]])
    assert failed.rc == 1 and "backup-http" in failed.result["msg"]
