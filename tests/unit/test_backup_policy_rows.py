# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/backup_policy_rows.py over a real plan's namespaces."""

from ansible_collections.swarmdata.replication.plugins.filter.backup_policy_rows import backup_policy_rows, duration
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import build_plan


def test_one_line_per_namespace_with_its_policy():
    plan = build_plan(groups={"swarm_managers": ["node1"]}, variant="p2p",
                      namespaces=[{"name": "db", "criticality": "critical"}, "wiki"])
    rows = backup_policy_rows(plan["namespaces"])
    assert rows[0].split()[:3] == ["namespace", "level", "every"]
    assert rows[1].split()[:3] == ["db", "critical", "1h"]
    assert "24h 14d 8w 12m" in rows[1] and rows[1].endswith("2h")
    assert all(len(row) <= 80 for row in rows)
    assert rows[2].split()[:3] == ["wiki", "medium", "1d"] and rows[2].endswith("2d")


def test_durations():
    assert [duration(s) for s in (0, 60, 5400, 3600, 86400, 90061)] == ["never", "1m", "90m", "1h", "1d", "90061s"]
