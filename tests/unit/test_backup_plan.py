# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's backup section (module_utils/_backup.py section): where each namespace's backup service runs and
what it reads, per variant; none without replication_backup_host; a host not in the swarm names the variable."""

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import TopologyError, build_plan

GROUPS = {"swarm_managers": ["node1"], "swarm_workers": ["node2", "node3"]}
NAMESPACES = [{"name": "wiki", "criticality": "high"}, {"name": "db_main"}]


def plan(variant="bind", **kwargs):
    if variant == "bind":
        kwargs.setdefault("primary", "node1")
    return build_plan(groups=GROUPS, variant=variant, namespaces=kwargs.pop("namespaces", NAMESPACES), **kwargs)


def test_no_backup_host_no_backups_and_no_backup_directories():
    p = plan()
    assert p["backup"] is None
    assert not any("backup" in d["path"] for n in p["nodes"].values() for d in n["directories"])


def test_bind_with_snapshots_backs_up_a_replica_snapshot_placed_by_label():
    p = plan(backup_host="node3", namespaces=[{"name": "wiki", "snapshots": {"interval": 3600}}])
    svc = p["backup"]["services"]["wiki"]
    # Any node but the namespace's primary: Swarm moves it when its node is lost, and it never lands on the primary.
    assert svc["constraints"] == ["node.labels.swarmdata.member == true", "node.labels.swarmdata.primary.wiki != true"]
    assert svc["snapshots"] == "/opt/swarmdata/snapshots/wiki"
    assert svc["source"] == "/opt/swarmdata/namespaces/wiki"


def test_bind_without_snapshots_backs_up_the_primary_live_copy():
    p = plan(backup_host="node3", namespaces=[{"name": "wiki", "snapshots": {"interval": 0}}])
    svc = p["backup"]["services"]["wiki"]
    assert svc["constraints"] == p["bind"]["constraints"]["wiki"] == ["node.labels.swarmdata.primary.wiki == true"]
    assert svc["snapshots"] is None


@pytest.mark.parametrize("variant", ["glusterfs", "p2p"])
def test_glusterfs_and_p2p_back_up_from_any_member(variant):
    p = plan(variant, backup_host="node2")
    for ns in p["namespaces"]:
        svc = p["backup"]["services"][ns["name"]]
        assert svc == {"service": "backup-" + ns["name"].replace("_", "-"),
                       "constraints": ["node.labels.swarmdata.member == true"],
                       "source": ns["path"], "snapshots": None}


def test_repositories_on_the_backup_host_state_on_every_node_one_password_per_namespace():
    p = plan(backup_host="node2")
    b = p["backup"]
    assert (b["host"], b["dir"], b["state_dir"]) == ("node2", "/opt/swarmdata/backup", "/opt/swarmdata/state/backup")
    assert b["password_secrets"] == {"wiki": "swarmdata-restic-wiki", "db_main": "swarmdata-restic-db_main"}
    for host, node in p["nodes"].items():
        paths = [d["path"] for d in node["directories"]]
        assert b["state_dir"] in paths
        assert (b["dir"] in paths) == (host == "node2")
    assert [d["mode"] for d in p["nodes"]["node2"]["directories"] if d["path"] == b["dir"]] == ["0700"]


def test_a_backup_host_outside_the_swarm_names_the_variable():
    with pytest.raises(TopologyError, match=r"replication_backup_host must be one of the swarm hosts .*'node9'"):
        plan(backup_host="node9")


def test_namespaces_whose_backup_services_would_share_a_name_are_refused_naming_both():
    with pytest.raises(TopologyError, match=r"namespaces 'a_b' and 'a-b' would share the backup service 'backup-a-b'"):
        plan(backup_host="node2", namespaces=["a_b", "a-b"])


def test_an_offsite_host_outside_the_swarm_gets_the_append_only_copy():
    groups = dict(GROUPS, backup_offsite=["vault"])
    p = build_plan(groups=groups, variant="bind", namespaces=NAMESPACES, primary="node1", backup_host="node2",
                   backup_offsite_host="vault")
    assert p["backup"]["offsite"] == {"host": "vault", "dir": "/opt/swarmdata/offsite",
                                      "http_secret": "swarmdata-backup-offsite-http"}
    assert p["backup"]["http_secret"] == "swarmdata-backup-http"
    assert "vault" not in p["nodes"]
    assert plan(backup_host="node2")["backup"]["offsite"] is None


@pytest.mark.parametrize("offsite, needs, message", [
    ("node3", "node2", r"replication_backup_offsite_host must be a host outside the swarm .*'node3'"),
    ("nowhere", "node2", r"replication_backup_offsite_host must be an inventory host, got 'nowhere'"),
    ("vault", None, r"replication_backup_offsite_host is set but replication_backup_host is not"),
    (["vault"], "node2", r"replication_backup_offsite_host must be an inventory hostname"),
])
def test_a_bad_offsite_host_names_the_variable(offsite, needs, message):
    groups = dict(GROUPS, backup_offsite=["vault"])
    with pytest.raises(TopologyError, match=message):
        build_plan(groups=groups, variant="bind", namespaces=NAMESPACES, primary="node1", backup_host=needs,
                   backup_offsite_host=offsite)


def test_the_textfile_collector_directory_is_made_on_every_node_where_set():
    p = plan(backup_host="node2")
    assert p["backup"]["textfile_dir"] == "/var/lib/prometheus/node-exporter"
    for node in p["nodes"].values():
        assert {"path": "/var/lib/prometheus/node-exporter", "owner": "root", "group": "root",
                "mode": "0755"} in node["directories"]
    none = plan(backup_host="node2", backup_textfile_dir="")
    assert none["backup"]["textfile_dir"] is None
    assert not any("prometheus" in d["path"] for n in none["nodes"].values() for d in n["directories"])
    with pytest.raises(TopologyError, match=r"replication_backup_textfile_dir must be an absolute path"):
        plan(backup_host="node2", backup_textfile_dir="metrics")


def test_hooks_are_normalized_and_a_bind_namespace_with_hooks_is_backed_up_from_its_primary():
    p = plan(backup_host="node3", namespaces=[
        {"name": "wiki", "snapshots": {"interval": 3600}, "hooks": {"service": "app_db", "pre": "pg_dump -f /d/x"}},
        {"name": "db"}])
    wiki, db = p["namespaces"]
    assert wiki["hooks"] == {"service": "app_db", "pre": "pg_dump -f /d/x", "post": None, "timeout": 600,
                             "scale_to_zero": False}
    assert db["hooks"] is None
    svc = p["backup"]["services"]["wiki"]
    # Right after the hook, from the live copy: not a replica's snapshot taken whenever its schedule says.
    assert svc["constraints"] == p["bind"]["constraints"]["wiki"] and svc["snapshots"] is None
    assert p["backup"]["hook_service"] == "hooks"
    assert plan(backup_host="node3")["backup"]["hook_service"] is None


@pytest.mark.parametrize("hooks, message", [
    ("pg_dump", r"replication_namespaces\[0\]\.hooks must be a dict"),
    ({"service": "app_db", "pre": "x", "when": 1}, r"hooks has unknown key\(s\) when"),
    ({"pre": "x"}, r"hooks\.service must be the name of a Swarm service"),
    ({"service": "app db", "pre": "x"}, r"hooks\.service must be the name of a Swarm service"),
    ({"service": "app_db", "pre": ["a"]}, r"hooks\.pre must be a shell command"),
    ({"service": "app_db", "pre": "x", "timeout": 0}, r"hooks\.timeout must be a number of seconds"),
    ({"service": "app_db", "scale_to_zero": "yes"}, r"hooks\.scale_to_zero must be true or false"),
    ({"service": "app_db"}, r"hooks does nothing"),
])
def test_bad_hooks_name_the_variable(hooks, message):
    with pytest.raises(TopologyError, match=message):
        plan(backup_host="node3", namespaces=[{"name": "wiki", "hooks": hooks}])


def test_hooks_are_refused_for_p2p_naming_the_variable():
    with pytest.raises(TopologyError, match=r"replication_namespaces\[0\]\.hooks: hooks apply to variants bind and "
                                            r"glusterfs, not p2p"):
        build_plan(groups=GROUPS, variant="p2p", backup_host="node2",
                   namespaces=[{"name": "wiki", "hooks": {"service": "app_db", "pre": "x"}}])
    p = build_plan(groups=GROUPS, variant="glusterfs", backup_host="node2",
                   namespaces=[{"name": "wiki", "hooks": {"service": "app_db", "pre": "x"}}])
    assert p["namespaces"][0]["hooks"]["service"] == "app_db"
