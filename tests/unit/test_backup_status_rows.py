# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/backup_status_rows.py on the backup runner's own metrics text (metrics_text)."""

import importlib.util
import os
import time

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.swarmdata.replication.plugins.filter.backup_status_rows import backup_status_rows

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
SPEC = importlib.util.spec_from_file_location(
    "backup_runner", os.path.join(ROOT, "roles", "backup", "files", "runner", "backup_runner.py"))
RUNNER = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(RUNNER)
NOW = 1_800_000_000.0
POLICY = {"max_age": 7200}


def text(state, newest=None):
    """The runner's metrics, its newest snapshot taken at ``newest`` (as restic lists it), or none."""
    snaps = [{"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest))}] if newest else []
    return RUNNER.metrics_text("wiki", POLICY, state, snaps)


@pytest.mark.parametrize("state, newest, expected", [
    ({"last_attempt": NOW - 60, "last_status": 1, "last_check": NOW - 50, "last_drill": NOW - 40}, NOW - 60, "ok"),
    ({"last_attempt": NOW - 60, "last_status": 0}, NOW - 3600, "FAILED"),
    ({"last_attempt": NOW - 9000, "last_status": 1}, NOW - 9000, "OVERDUE"),
    ({}, None, "NONE"),
])
def test_each_state_from_the_runners_own_metrics(state, newest, expected):
    header, row = backup_status_rows([{"namespace": "wiki", "host": "node2", "metrics": text(state, newest)}], NOW)
    assert header.split()[:2] == ["namespace", "runs"]
    cells = row.split()
    assert cells[0] == "wiki" and cells[1] == "node2" and cells[4] == expected, row
    if newest:
        assert cells[2] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest))
        assert cells[3] == {"ok": "1m", "FAILED": "1h", "OVERDUE": "2h"}[expected]
    else:
        assert cells[2] == "never" and cells[3] == "-"


def test_a_namespace_without_a_running_service_shows_dashes():
    header, row = backup_status_rows([{"namespace": "db", "host": None, "metrics": ""}], NOW)
    assert header.startswith("namespace") and row.split()[:5] == ["db", "-", "never", "-", "NONE"]


def test_bad_input_is_refused():
    with pytest.raises(AnsibleFilterError):
        backup_status_rows("nope", NOW)


def test_the_offsite_copy_has_its_own_state_and_count():
    snaps = [{"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - 60))}]
    ok = {"last_attempt": NOW - 60, "last_status": 1, "offsite_last_attempt": NOW - 30, "offsite_last_status": 1}
    row = backup_status_rows([{"namespace": "wiki", "host": "node2",
                               "metrics": RUNNER.metrics_text("wiki", POLICY, ok, snaps, snaps * 3)}], NOW)[1]
    assert row.split()[4] == "ok" and row.split()[-1] == "ok/3"
    failed = dict(ok, offsite_last_status=0)
    row = backup_status_rows([{"namespace": "wiki", "host": "node2",
                               "metrics": RUNNER.metrics_text("wiki", POLICY, failed, snaps, [])}], NOW)[1]
    assert row.split()[4] == "ok" and row.split()[-1] == "NONE/0"
    row = backup_status_rows([{"namespace": "wiki", "host": "node2",
                               "metrics": RUNNER.metrics_text("wiki", POLICY, failed, snaps, snaps)}], NOW)[1]
    assert row.split()[-1] == "FAILED/1"
    assert backup_status_rows([{"namespace": "wiki", "host": "node2", "metrics": text(ok, NOW - 60)}],
                              NOW)[1].split()[-1] == "-"
