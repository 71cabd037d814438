# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus alert rules the collection ships (roles/backup/files/prometheus/), checked and tested with the real
promtool (Debian's prometheus package, which scripts/setup.sh installs): each alert fires on the series it is
for, and only on them (tests/unit/prometheus/swarmdata-backup.rules.test.yml)."""

import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
RULES = os.path.join(ROOT, "roles", "backup", "files", "prometheus", "swarmdata-backup.rules.yml")
TESTS = os.path.join(ROOT, "tests", "unit", "prometheus", "swarmdata-backup.rules.test.yml")


def promtool(*args, cwd=None):
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: scripts/setup.sh installs Debian's prometheus package, which carries it"
    return subprocess.run([tool] + list(args), capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


def test_the_rules_file_is_valid():
    proc = promtool("check", "rules", RULES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 rules found" in proc.stdout


def test_each_alert_fires_on_its_series_and_only_there():
    proc = promtool("test", "rules", os.path.basename(TESTS), cwd=os.path.dirname(TESTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_the_runners_metrics_parse(tmp_path):
    """What the runner writes for node_exporter's textfile collector is valid exposition text (promtool check
    metrics reads it as Prometheus would), with and without an off-site repository."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "backup_runner", os.path.join(ROOT, "roles", "backup", "files", "runner", "backup_runner.py"))
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    snaps = [{"time": "2026-12-04T10:00:00.123456789Z"}]
    state = {"last_attempt": 1.5, "last_status": 1, "offsite_last_attempt": 2.5, "offsite_last_status": 0}
    for offsite in (runner.NO_OFFSITE, snaps, None):
        text = runner.metrics_text("wiki", {"max_age": 7200}, state, snaps, offsite)
        proc = subprocess.run([shutil.which("promtool") or "promtool", "check", "metrics"], input=text,
                              capture_output=True, text=True, timeout=60, check=False)
        # check metrics fails on a parse error and on lint advice (naming, HELP and TYPE lines) alike.
        assert proc.returncode == 0 and not proc.stdout + proc.stderr, proc.stdout + proc.stderr
        # An off-site repository that could not be read (None) reports its status, not a last success of 0.
        assert ('swarmdata_backup_last_success_timestamp_seconds{namespace="wiki",repository="offsite"}' in text) \
            == (offsite is snaps)
        assert ('swarmdata_backup_last_status{namespace="wiki",repository="offsite"} 0' in text) \
            == (offsite is not runner.NO_OFFSITE)
