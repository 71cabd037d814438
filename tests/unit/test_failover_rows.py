# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/failover_rows.py: the bind variant's primary, fence and snapshot rows of the status table."""

from ansible_collections.swarmdata.replication.plugins.filter.failover_rows import FilterModule, failover_rows

FENCES = {"wiki": {"epoch": 2, "primary": "node3", "fenced": ["node1"]},
          "db": {"epoch": 1, "primary": "node2", "fenced": []},
          "logs": None}
SNAPSHOTS = [
    {"namespace": "wiki", "replica": "node2", "snapshot": "20260301T120000Z", "time": 1772366400, "count": 4},
    {"namespace": "db", "replica": "node3", "snapshot": "20260301T115000Z", "time": 1772365800, "count": 96},
    {"namespace": "db", "replica": "node1", "snapshot": "20260301T115500Z", "time": 1772366100, "count": 95},
]
NOW = 1772366460


def test_fence_rows_sorted_by_namespace():
    rows = failover_rows(FENCES, [], NOW)
    assert rows[0].split() == ["namespace", "primary", "epoch", "fenced", "(until", "failback.yml)"]
    assert [r.split() for r in rows[1:4]] == [
        ["db", "node2", "1", "-"],
        ["logs", "-", "(no", "fence", "yet)", "-", "-"],
        ["wiki", "node3", "2", "node1"],
    ]
    assert rows[4].split() == ["replica", "namespace", "latest", "snapshot", "age", "s", "kept"]
    assert len(rows) == 5


def test_several_fenced_hosts_are_listed():
    rows = failover_rows({"wiki": {"epoch": 5, "primary": "node2", "fenced": ["node1", "node3"]}}, [], NOW)
    assert rows[1].endswith("node1, node3")


def test_snapshot_rows_sorted_by_namespace_then_replica_with_age():
    rows = failover_rows({}, SNAPSHOTS, NOW)
    assert [r.split() for r in rows[2:]] == [
        ["node1", "db", "20260301T115500Z", "360", "95"],
        ["node3", "db", "20260301T115000Z", "660", "96"],
        ["node2", "wiki", "20260301T120000Z", "60", "4"],
    ]


def test_a_snapshot_from_the_future_has_age_0():
    rows = failover_rows({}, [dict(SNAPSHOTS[0], time=NOW + 30)], NOW)
    assert rows[-1].split()[3] == "0"


def test_columns_line_up():
    rows = failover_rows(FENCES, SNAPSHOTS, NOW)
    assert rows[1].index("node2") == rows[0].index("primary")
    assert rows[5].index("db") == rows[4].index("namespace")


def test_nothing_at_all():
    assert len(failover_rows(None, None, NOW)) == 2


def test_filter_is_registered():
    assert FilterModule().filters()["failover_rows"] is failover_rows
