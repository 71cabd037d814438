# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup policy each namespace gets in the plan (module_utils/_backup.py): criticality's defaults, the global
replication_backup_policy over them, the namespace's own backup over both; bad input names the variable."""

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils import _backup
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import TopologyError, build_plan

GROUPS = {"swarm_managers": ["node1"], "swarm_workers": ["node2", "node3"]}


def plan(namespaces, **kwargs):
    return build_plan(groups=GROUPS, variant="bind", namespaces=namespaces, primary="node1", **kwargs)


def policies(namespaces, **kwargs):
    return dict((ns["name"], ns["backup"]) for ns in plan(namespaces, **kwargs)["namespaces"])


def test_each_criticality_gets_the_issue_defaults():
    got = policies([{"name": c, "criticality": c} for c in ("critical", "high", "medium", "low")])
    assert got["critical"]["interval"] == 3600
    assert [got["critical"][k] for k in ("keep_hourly", "keep_daily", "keep_weekly", "keep_monthly")] == [24, 14, 8, 12]
    assert got["high"]["interval"] == 6 * 3600
    assert got["medium"]["interval"] == 86400
    assert got["low"]["interval"] == 7 * 86400
    # Each level's latest backup counts as missed after two of its intervals.
    assert all(p["max_age"] == 2 * p["interval"] for p in got.values())
    assert all(p["criticality"] == name for name, p in got.items())


def test_the_global_policy_goes_over_a_level_and_the_namespace_over_both():
    got = policies([{"name": "wiki", "criticality": "critical"},
                    {"name": "db", "criticality": "critical", "backup": {"keep_hourly": 48}}],
                   backup_policy={"critical": {"interval": 1800, "max_age": 3600}})
    assert got["wiki"]["interval"] == 1800 and got["wiki"]["max_age"] == 3600 and got["wiki"]["keep_hourly"] == 24
    assert got["db"]["interval"] == 1800 and got["db"]["keep_hourly"] == 48


def test_an_interval_of_zero_means_no_scheduled_backups():
    assert policies([{"name": "wiki", "backup": {"interval": 0}}])["wiki"]["interval"] == 0


@pytest.mark.parametrize("namespaces, kwargs, names", [
    ([{"name": "wiki", "backup": {"every": 60}}], {}, "replication_namespaces[0].backup has unknown key(s) every"),
    ([{"name": "wiki", "backup": {"keep_daily": -1}}], {}, "replication_namespaces[0].backup.keep_daily"),
    ([{"name": "wiki", "backup": {"keep_daily": "7"}}], {}, "replication_namespaces[0].backup.keep_daily"),
    ([{"name": "wiki", "backup": {"keep_daily": True}}], {}, "replication_namespaces[0].backup.keep_daily"),
    ([{"name": "wiki", "backup": {"interval": 60}}], {}, "replication_namespaces[0].backup.interval must be 0"),
    ([{"name": "wiki", "backup": {"max_age": 3600}}], {}, "replication_namespaces[0].backup.max_age (3600 s) is "
                                                          "shorter than its interval"),
    ([{"name": "wiki", "backup": dict((k, 0) for k in _backup.KEEP_KEYS)}], {},
     "replication_namespaces[0].backup keeps nothing"),
    ([{"name": "wiki", "backup": "daily"}], {}, "replication_namespaces[0].backup must be a dict"),
    (["wiki"], {"backup_policy": {"urgent": {}}}, "replication_backup_policy has unknown criticality urgent"),
    (["wiki"], {"backup_policy": ["critical"]}, "replication_backup_policy must be a dict keyed by criticality"),
    (["wiki"], {"backup_policy": {"low": {"interval": 10}}}, "replication_backup_policy.low.interval must be 0"),
])
def test_bad_input_names_the_variable(namespaces, kwargs, names):
    with pytest.raises(TopologyError) as err:
        plan(namespaces, **kwargs)
    assert names in str(err.value)
