# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_topology.py: the inventory -> plan function and its validators."""

import re

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils import _topology
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import (
    TopologyError,
    build_plan,
    secret_name,
    validate_advertise_addr,
    validate_host_name,
    validate_host_vars,
    validate_namespace_name,
    validate_root,
)

MANAGERS = ["node1"]
WORKERS = ["node2", "node3"]
CONSTRAINT_RE = re.compile(r"^node\.labels\.(?P<key>\S+) == (?P<value>\S+)$")


def groups(managers=None, workers=None):
    return {
        "swarm_managers": list(MANAGERS if managers is None else managers),
        "swarm_workers": list(WORKERS if workers is None else workers),
    }


def plan_kwargs(**overrides):
    """A valid bind plan's arguments, with ``overrides`` applied."""
    kwargs = {"groups": groups(), "variant": "bind", "namespaces": ["wiki"], "primary": "node1"}
    kwargs.update(overrides)
    return kwargs


def constraint_holds(constraint, labels):
    """Evaluate one ``node.labels.KEY == VALUE`` Swarm constraint against a node's labels."""
    match = CONSTRAINT_RE.match(constraint)
    assert match, f"unexpected constraint syntax: {constraint!r}"
    return labels.get(match.group("key")) == match.group("value")


# --------------------------------------------------------------------------------------------- bad input

LONG_NAME = "a" * 64

BAD_INPUTS = [
    # id, build_plan overrides, substrings the message must contain (variable name first, then the reason)
    ("variant-unknown", {"variant": "rsync"},
     ["replication_variant", "must be one of bind, glusterfs, p2p", "got 'rsync'"]),
    ("variant-none", {"variant": None},
     ["replication_variant", "must be one of bind, glusterfs, p2p", "got None"]),
    ("bind-no-primary", {"primary": None},
     ["replication_primary", "must name the primary host for variant 'bind'", "node1, node2, node3"]),
    ("bind-empty-primary", {"primary": ""},
     ["replication_primary", "must name the primary host for variant 'bind'"]),
    ("primary-not-in-inventory", {"primary": "node9"},
     ["replication_primary 'node9' is not in 'swarm_managers' or 'swarm_workers'", "hosts: node1, node2, node3"]),
    ("primary-list-of-two", {"primary": ["node1", "node2"]},
     ["replication_primary", "must name exactly one host, got 2: node1, node2"]),
    ("bind-one-host", {"groups": groups(workers=[])},
     ["variant 'bind' needs at least 2 hosts", "got 1"]),
    ("ns-empty", {"namespaces": [""]},
     ["replication_namespaces[0].name", "a namespace name is empty"]),
    ("ns-64-chars", {"namespaces": [LONG_NAME]},
     ["replication_namespaces[0].name", "is 64 characters long; at most 63 are allowed"]),
    ("ns-slash", {"namespaces": ["a/b"]},
     ["replication_namespaces[0].name", "'a/b' contains '/'"]),
    ("ns-dotdot-slash", {"namespaces": ["../x"]},
     ["replication_namespaces[0].name", "'../x' contains '/'"]),
    ("ns-dotdot", {"namespaces": [".."]},
     ["replication_namespaces[0].name", "'..' contains '..'"]),
    ("ns-uppercase", {"namespaces": ["Abc"]},
     ["replication_namespaces[0].name", "'Abc' must match [a-z0-9][a-z0-9_-]*"]),
    ("ns-leading-dash", {"namespaces": ["-x"]},
     ["replication_namespaces[0].name", "'-x' must match [a-z0-9][a-z0-9_-]*"]),
    ("ns-name-not-string", {"namespaces": [{"name": 5}]},
     ["replication_namespaces[0].name", "namespace name 5 must be a string"]),
    ("ns-item-not-string-or-dict", {"namespaces": [5]},
     ["replication_namespaces[0]", "must be a name or a dict with a 'name' key, got 5"]),
    ("ns-index-of-second-item", {"namespaces": ["wiki", "Bad"]},
     ["replication_namespaces[1].name", "'Bad' must match"]),
    ("ns-duplicate", {"namespaces": ["wiki", {"name": "wiki", "mode": "0700"}]},
     ["replication_namespaces", "namespace 'wiki' is listed more than once"]),
    ("ns-unknown-key", {"namespaces": [{"name": "wiki", "size": "1G"}]},
     ["replication_namespaces[0]", "has unknown key(s) size",
      "allowed keys are name, criticality, owner, group, mode, primary, snapshots"]),
    ("ns-no-name", {"namespaces": [{"mode": "0750"}]},
     ["replication_namespaces[0]", "has no 'name'"]),
    ("ns-not-a-list", {"namespaces": "wiki"},
     ["replication_namespaces", "must be a list, got str"]),
    ("ns-bad-criticality", {"namespaces": [{"name": "wiki", "criticality": "urgent"}]},
     ["replication_namespaces[0].criticality", "must be one of critical, high, medium, low", "got 'urgent'"]),
    ("ns-bad-mode-digit", {"namespaces": [{"name": "wiki", "mode": "0789"}]},
     ["replication_namespaces[0].mode", "must be an octal string like '0750'", "got '0789'"]),
    ("ns-bad-mode-symbolic", {"namespaces": [{"name": "wiki", "mode": "u=rwx"}]},
     ["replication_namespaces[0].mode", "must be an octal string", "got 'u=rwx'"]),
    ("ns-bad-mode-setuid", {"namespaces": [{"name": "wiki", "mode": "4755"}]},
     ["replication_namespaces[0].mode", "must be an octal string", "got '4755'"]),
    ("ns-bad-owner", {"namespaces": [{"name": "wiki", "owner": "Bad User"}]},
     ["replication_namespaces[0].owner", "'Bad User' is not a user/group name or numeric id"]),
    ("ns-bad-group", {"namespaces": [{"name": "wiki", "group": "a b"}]},
     ["replication_namespaces[0].group", "'a b' is not a user/group name or numeric id"]),
    ("root-relative", {"root": "opt/swarmdata"},
     ["replication_root", "must be an absolute path, got relative path 'opt/swarmdata'"]),
    ("root-dotdot", {"root": "/opt/../etc"},
     ["replication_root", "must not contain '..'", "'/opt/../etc'"]),
    ("root-slash", {"root": "/"},
     ["replication_root", "must not be '/'"]),
    ("root-slash-dot", {"root": "/."},
     ["replication_root", "must not be '/'"]),
    ("root-empty", {"root": ""},
     ["replication_root", "must be a non-empty absolute path"]),
    ("root-not-string", {"root": 5},
     ["replication_root", "must be a non-empty absolute path, got 5"]),
    ("root-quote", {"root": "/opt/swarm'data"},
     ["replication_root", "\"/opt/swarm'data\" contains \"'\"", "only letters, digits, '.', '_', '-' and '/'"]),
    ("root-double-quote", {"root": '/opt/"x"'}, ["replication_root", "contains '\"'"]),
    ("root-space", {"root": "/opt/swarm data"}, ["replication_root", "contains ' '"]),
    ("root-dollar", {"root": "/opt/$HOME"}, ["replication_root", "contains '$'"]),
    ("root-backtick", {"root": "/opt/`id`"}, ["replication_root", "contains '`'"]),
    ("root-newline", {"root": "/opt/x\n"}, ["replication_root", "contains '\\n'"]),
    ("root-colon", {"root": "/opt/a:b"}, ["replication_root", "contains ':'", "Docker bind mounts"]),
    ("root-comma", {"root": "/opt/a,b"}, ["replication_root", "contains ','"]),
    ("root-semicolon-and-space", {"root": "/opt/x; rm -rf /"}, ["replication_root", "contains ' ', ';'"]),
    ("mode-unquoted-octal", {"namespaces": [{"name": "wiki", "mode": 0o770}]},
     ["replication_namespaces[0].mode is the integer 504", "cannot be told apart",
      'mode: "0770" if you wrote 0770', 'mode: "0504" if you wrote 504']),
    ("mode-unquoted-decimal", {"namespaces": [{"name": "wiki", "mode": 750}]},
     ["replication_namespaces[0].mode is the integer 750", 'mode: "0750" if you wrote 750']),
    ("mode-unquoted-octal-only", {"namespaces": [{"name": "wiki", "mode": 0o750}]},
     ["replication_namespaces[0].mode is the integer 488", 'mode: "0750" if you wrote 0750']),
    ("mode-unquoted-nonsense", {"namespaces": [{"name": "wiki", "mode": 7}]},
     ["replication_namespaces[0].mode is the integer 7", "quote it"]),
    ("mode-bool", {"namespaces": [{"name": "wiki", "mode": True}]},
     ["replication_namespaces[0].mode must be an octal string", "got 'True'"]),
    ("owner-quote", {"namespaces": [{"name": "wiki", "owner": "x'y"}]},
     ["replication_namespaces[0].owner", "is not a user/group name or numeric id"]),
    ("group-dollar", {"namespaces": [{"name": "wiki", "group": "$(id)"}]},
     ["replication_namespaces[0].group", "is not a user/group name or numeric id"]),
    ("owner-id-too-large", {"namespaces": [{"name": "wiki", "owner": 4294967295}]},
     ["replication_namespaces[0].owner '4294967295' is not a valid numeric id"]),
    ("hostname-space", {"groups": groups(workers=["node2", "node 3"]), "primary": "node1"},
     ["inventory hostname 'node 3'", "must be an IPv4/IPv6 address or a DNS name", "got 'node 3'"]),
    ("hostname-quote", {"groups": groups(managers=["node'1"]), "primary": "node'1"},
     ["inventory hostname \"node'1\"", "must be an IPv4/IPv6 address or a DNS name"]),
    ("hostname-label-dash", {"groups": groups(workers=["node2", "-node3"])},
     ["inventory hostname '-node3'", "must be an IPv4/IPv6 address or a DNS name"]),
    ("hostname-empty-label", {"groups": groups(workers=["node2", "node3..example"])},
     ["inventory hostname 'node3..example'"]),
    ("hostname-too-long", {"groups": groups(workers=["node2", ".".join(["a" * 63] * 4)])},
     ["inventory hostname", "at most 253 characters"]),
    ("address-bad", {"addresses": {"node2": "10.0.0.2; reboot"}},
     ["the address of host 'node2' (glusterfs_address / ansible_host)", "got '10.0.0.2; reboot'"]),
    ("address-xml", {"variant": "p2p", "primary": None, "addresses": {"node2": "a</address><x>"}},
     ["the address of host 'node2'", "must be an IPv4/IPv6 address or a DNS name"]),
    ("address-not-string", {"addresses": {"node2": 5}},
     ["the address of host 'node2'", "got 5"]),
    ("address-ipv6-glusterfs", {"variant": "glusterfs", "primary": None, "addresses": {"node2": "2001:db8::2"}},
     ["the address of host 'node2'", "is the IPv6 address '2001:db8::2'", "needs an IPv4 address or a DNS name"]),
    ("address-ipv6-p2p", {"variant": "p2p", "primary": None, "addresses": {"node2": "2001:db8::2"}},
     ["variant 'p2p' needs an IPv4 address or a DNS name"]),
    ("address-ipv6-scope", {"addresses": {"node2": "fe80::1%eth0"}},
     ["the address of host 'node2'", "got 'fe80::1%eth0'"]),
    ("managers-empty", {"groups": groups(managers=[])},
     ["inventory group 'swarm_managers' is empty or missing", "at least one manager"]),
    ("managers-missing", {"groups": {"swarm_workers": ["node2"]}},
     ["inventory group 'swarm_managers' is empty or missing"]),
    ("managers-custom-group-missing", {"managers_group": "mgrs"},
     ["inventory group 'mgrs' is empty or missing"]),
    ("group-not-a-list", {"groups": {"swarm_managers": "node1"}},
     ["inventory group swarm_managers (swarm_managers_group) must be a list of hosts"]),
    ("host-in-both-groups", {"groups": groups(managers=["node1", "node2"], workers=["node2", "node3"])},
     ["host(s) node2 are in both 'swarm_managers' and 'swarm_workers'", "put each host in one group"]),
    ("host-twice", {"groups": groups(managers=["node1", "node1"])},
     ["host(s) node1 listed twice"]),
    ("label-prefix-bad", {"label_prefix": "Swarm Data"},
     ["replication_label_prefix", "must be lowercase dot/dash-separated words", "got 'Swarm Data'"]),
    ("label-prefix-trailing-dot", {"label_prefix": "swarmdata."},
     ["replication_label_prefix", "must be lowercase"]),
    ("label-prefix-docker", {"label_prefix": "com.docker.stack"},
     ["replication_label_prefix 'com.docker.stack' is reserved by Docker"]),
    ("gluster-replica-gt-nodes", {"variant": "glusterfs", "primary": None, "replica_count": 4},
     ["replication_replica_count is 4 but there are only 3 hosts"]),
    ("gluster-replica-2", {"variant": "glusterfs", "primary": None, "replica_count": 2},
     ["replication_replica_count 2 (plain replica 2) splits brain"]),
    ("gluster-replica-2-on-2-hosts", {"variant": "glusterfs", "groups": groups(workers=["node2"]), "replica_count": 2},
     ["replication_replica_count 2 (plain replica 2) splits brain", "leave it unset on 2 hosts"]),
    ("gluster-replica-1", {"variant": "glusterfs", "primary": None, "replica_count": 1},
     ["replication_replica_count must be at least 3, got 1"]),
    ("gluster-replica-not-int", {"variant": "glusterfs", "primary": None, "replica_count": "three"},
     ["replication_replica_count must be an integer, got 'three'"]),
    ("gluster-replica-not-dividing", {"variant": "glusterfs", "groups": groups(workers=["node2", "node3", "node4"])},
     ["replication_replica_count is unset and the 4 hosts are not a multiple of 3"]),
    ("gluster-one-host", {"variant": "glusterfs", "groups": groups(workers=[])},
     ["variant 'glusterfs' needs at least 2 hosts, got 1"]),
    ("replica-count-for-bind", {"replica_count": 3},
     ["replication_replica_count applies to variant 'glusterfs' only, not 'bind'"]),
    ("replica-count-for-p2p", {"variant": "p2p", "replica_count": 3},
     ["replication_replica_count applies to variant 'glusterfs' only, not 'p2p'"]),
    ("secret-name-too-long", {"groups": groups(workers=["n" * 60])},
     ["secret name", "is longer than 64 characters", "shorten replication_label_prefix or the inventory hostnames"]),
]


@pytest.mark.parametrize("overrides, expected", [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_names_variable_and_reason(overrides, expected):
    with pytest.raises(TopologyError) as exc:
        build_plan(**plan_kwargs(**overrides))
    message = str(exc.value)
    for part in expected:
        assert part in message
    # A TopologyError is a ValueError, so callers that only know ValueError still catch it.
    assert isinstance(exc.value, ValueError)


def test_variant_is_checked_before_everything_else():
    # Every other argument is bad too; the variant is what the message must be about.
    with pytest.raises(TopologyError, match=r"^replication_variant must be one of"):
        build_plan(groups={}, variant="nfs", namespaces="x", primary=["a", "b"], root="rel")


@pytest.mark.parametrize("name, reason", [
    ("", "is empty"),
    (LONG_NAME, "64 characters long"),
    ("a/b", "contains '/'"),
    ("../x", "contains '/'"),
    ("..", "contains '..'"),
    ("Abc", "must match"),
    ("-x", "must match"),
    ("_x", "must match"),
    ("a.b", "must match"),
    ("a b", "must match"),
    (None, "must be a string"),
    (5, "must be a string"),
    (["wiki"], "must be a string"),
])
def test_validate_namespace_name_rejects(name, reason):
    with pytest.raises(TopologyError) as exc:
        validate_namespace_name(name, "name")
    assert str(exc.value).startswith("name: ")
    assert reason in str(exc.value)


@pytest.mark.parametrize("name", ["wiki", "db-1", "a_b", "0", "9lives", "a" * 63])
def test_validate_namespace_name_accepts(name):
    assert validate_namespace_name(name) == name


TRAILING_NEWLINE_BUG = ("BUG: the validation regexes end in '$', which also matches just before a trailing "
                        "newline, so a value with a trailing '\\n' passes (use \\Z or re.fullmatch)")


def test_validate_namespace_name_rejects_trailing_newline():
    with pytest.raises(TopologyError, match="must match"):
        validate_namespace_name("wiki\n")


@pytest.mark.parametrize("overrides, variable", [
    ({"namespaces": ["wiki\n"]}, "replication_namespaces[0].name"),
    ({"namespaces": [{"name": "wiki", "mode": "0750\n"}]}, "replication_namespaces[0].mode"),
    ({"namespaces": [{"name": "wiki", "owner": "www-data\n"}]}, "replication_namespaces[0].owner"),
    ({"label_prefix": "swarmdata\n"}, "replication_label_prefix"),
], ids=["namespace-name", "mode", "owner", "label-prefix"])
def test_build_plan_rejects_trailing_newline(overrides, variable):
    with pytest.raises(TopologyError) as exc:
        build_plan(**plan_kwargs(**overrides))
    assert variable in str(exc.value)


@pytest.mark.parametrize("root, normalized", [
    ("/opt/swarmdata", "/opt/swarmdata"),
    ("/opt/swarmdata/", "/opt/swarmdata"),
    ("/opt//swarmdata/./", "/opt/swarmdata"),
    ("/srv", "/srv"),
])
def test_validate_root_normalizes(root, normalized):
    assert validate_root(root) == normalized


@pytest.mark.parametrize("root, reason", [
    ("relative/dir", "must be an absolute path"),
    ("./x", "must be an absolute path"),
    ("/a/../b", "must not contain '..'"),
    ("/a/..", "must not contain '..'"),
    ("/", "must not be '/'"),
    ("///", "must not be '/'"),
    ("", "non-empty"),
    (None, "non-empty"),
])
def test_validate_root_rejects(root, reason):
    with pytest.raises(TopologyError) as exc:
        validate_root(root, "root")
    assert str(exc.value).startswith("root must")
    assert reason in str(exc.value)


def test_validate_root_rejects_double_slash():
    with pytest.raises(TopologyError, match="must not be '/'"):
        validate_root("//")


def test_validate_root_allows_dots_inside_names():
    # '..' is refused as a path component only, not as part of a name.
    assert validate_root("/srv/data..old") == "/srv/data..old"


def test_secret_name_sanitizes_and_limits():
    assert secret_name("swarmdata", "hostkey", "node2.example.com") == "swarmdata-hostkey-node2.example.com"
    assert secret_name("swarm data", "host/key", "n@1") == "swarm_data-host_key-n_1"
    assert len(secret_name("a" * 64)) == 64
    with pytest.raises(TopologyError, match="longer than 64 characters"):
        secret_name("a" * 65)


# --------------------------------------------------------------------------------------------- good input

def test_bind_plan_roles_and_replicas():
    plan = build_plan(**plan_kwargs(primary="node2"))
    assert plan["variant"] == "bind"
    assert plan["primary"] == "node2"
    assert plan["replicas"] == ["node1", "node3"]
    assert plan["hosts"] == ["node1", "node2", "node3"]
    assert plan["managers"] == ["node1"]
    assert plan["workers"] == ["node2", "node3"]
    assert plan["first_manager"] == "node1"
    roles = {h: n["role"] for h, n in plan["nodes"].items()}
    assert roles == {"node1": "replica", "node2": "primary", "node3": "replica"}
    swarm_roles = {h: n["swarm_role"] for h, n in plan["nodes"].items()}
    assert swarm_roles == {"node1": "manager", "node2": "worker", "node3": "worker"}
    assert plan["gluster"] is None


def test_bind_plan_labels():
    plan = build_plan(**plan_kwargs())
    assert plan["nodes"]["node1"]["labels"] == {
        "swarmdata.role": "primary",
        "swarmdata.member": "true",
        "swarmdata.variant": "bind",
        "swarmdata.host": "node1",
        # The namespace's primary carries its per-namespace label (what an application's placement follows).
        "swarmdata.primary.wiki": "true",
    }
    assert plan["nodes"]["node3"]["labels"] == {
        "swarmdata.role": "replica",
        "swarmdata.member": "true",
        "swarmdata.variant": "bind",
        "swarmdata.host": "node3",
    }
    # Swarm labels are strings; a bool or None would be rendered differently by each tool.
    for node in plan["nodes"].values():
        assert all(isinstance(v, str) for v in node["labels"].values())


def test_constraints_exact_strings():
    plan = build_plan(**plan_kwargs())
    assert plan["constraints"] == {
        "primary": ["node.labels.swarmdata.role == primary"],
        "replica": ["node.labels.swarmdata.role == replica"],
        "peer": ["node.labels.swarmdata.role == peer"],
        "member": ["node.labels.swarmdata.member == true"],
    }


@pytest.mark.parametrize("overrides", [
    {},
    {"primary": "node3"},
    {"variant": "p2p", "primary": None},
    {"variant": "glusterfs", "primary": None},
    {"label_prefix": "acme.data-sync"},
], ids=["bind", "bind-worker-primary", "p2p", "glusterfs", "custom-prefix"])
def test_constraints_match_labels(overrides):
    plan = build_plan(**plan_kwargs(**overrides))
    for host, node in plan["nodes"].items():
        # The constraint for the node's own role and the member constraint hold on it ...
        for constraint in plan["constraints"][node["role"]] + plan["constraints"]["member"]:
            assert constraint_holds(constraint, node["labels"]), (host, constraint, node["labels"])
        # ... and the constraints of the other roles do not.
        for role in ("primary", "replica", "peer"):
            if role != node["role"]:
                for constraint in plan["constraints"][role]:
                    assert not constraint_holds(constraint, node["labels"]), (host, constraint)


def test_every_bind_role_constraint_selects_exactly_its_hosts():
    plan = build_plan(**plan_kwargs())
    selected = {
        role: sorted(h for h, n in plan["nodes"].items() if all(constraint_holds(c, n["labels"]) for c in cs))
        for role, cs in plan["constraints"].items()
    }
    assert selected == {
        "primary": ["node1"],
        "replica": ["node2", "node3"],
        "peer": [],
        "member": ["node1", "node2", "node3"],
    }


def test_bind_peers():
    plan = build_plan(**plan_kwargs())
    assert plan["nodes"]["node1"]["peers"] == ["node2", "node3"]
    assert plan["nodes"]["node2"]["peers"] == ["node1"]
    assert plan["nodes"]["node3"]["peers"] == ["node1"]


def test_p2p_plan_peers_and_roles():
    plan = build_plan(**plan_kwargs(variant="p2p", primary="node2"))
    # p2p has no primary: a given one is ignored, every node is a peer of every other node.
    assert plan["primary"] is None
    assert plan["replicas"] == []
    for host, node in plan["nodes"].items():
        assert node["role"] == "peer"
        assert node["labels"]["swarmdata.role"] == "peer"
        assert node["labels"]["swarmdata.variant"] == "p2p"
        assert sorted(node["peers"]) == sorted(h for h in ["node1", "node2", "node3"] if h != host)
    assert plan["secrets"]["ssh_keys"] == []
    assert [i["host"] for i in plan["secrets"]["syncthing_identities"]] == ["node1", "node2", "node3"]


def test_glusterfs_two_hosts_replica_2_arbiter_1():
    plan = build_plan(**plan_kwargs(variant="glusterfs", primary=None, groups=groups(workers=["node2"])))
    assert {k: plan["gluster"][k] for k in ("replica", "arbiter")} == {"replica": 2, "arbiter": 1}


@pytest.mark.parametrize("replica_count", [None, "", 3, "3"])
def test_glusterfs_three_hosts_replica_3(replica_count):
    plan = build_plan(**plan_kwargs(variant="glusterfs", primary=None, replica_count=replica_count))
    assert {k: plan["gluster"][k] for k in ("replica", "arbiter")} == {"replica": 3, "arbiter": 0}


def test_glusterfs_six_hosts_replica_3():
    plan = build_plan(**plan_kwargs(variant="glusterfs", primary=None,
                                    groups=groups(managers=["m1", "m2", "m3"], workers=["w1", "w2", "w3"])))
    assert {k: plan["gluster"][k] for k in ("replica", "arbiter")} == {"replica": 3, "arbiter": 0}


def test_glusterfs_directories_and_namespaces():
    plan = build_plan(**plan_kwargs(variant="glusterfs", primary=None, root="/srv/sd"))
    for node in plan["nodes"].values():
        assert node["role"] == "peer"
        # Namespaces are made once through the shared mount, not per node.
        assert node["namespace_dirs"] == []
        assert {"path": "/srv/sd/brick", "owner": "root", "group": "root", "mode": "0700"} in node["directories"]
    assert [ns["path"] for ns in plan["namespaces"]] == ["/srv/sd/namespaces/wiki"]


def test_base_directories_and_namespace_dirs_for_bind():
    plan = build_plan(**plan_kwargs(root="/srv/sd/", namespaces=["wiki", "db"]))
    for node in plan["nodes"].values():
        assert node["directories"] == [
            {"path": "/srv/sd", "owner": "root", "group": "root", "mode": "0755"},
            {"path": "/srv/sd/namespaces", "owner": "root", "group": "root", "mode": "0755"},
            {"path": "/srv/sd/state", "owner": "root", "group": "root", "mode": "0700"},
            # Snapshots on the replicas, and what failover and failback move aside.
            {"path": "/srv/sd/snapshots", "owner": "root", "group": "root", "mode": "0700"},
            {"path": "/srv/sd/diverged", "owner": "root", "group": "root", "mode": "0700"},
        ]
        assert node["namespace_dirs"] == ["/srv/sd/namespaces/wiki", "/srv/sd/namespaces/db"]
    assert plan["root"] == "/srv/sd"


@pytest.mark.parametrize("mode, expected", [
    ("700", "0700"),
    ("750", "0750"),
    ("0750", "0750"),
    ("0644", "0644"),
])
def test_namespace_mode_normalisation(mode, expected):
    plan = build_plan(**plan_kwargs(namespaces=[{"name": "wiki", "mode": mode}]))
    assert plan["namespaces"][0]["mode"] == expected


def test_marker_per_variant():
    assert build_plan(**plan_kwargs(namespaces=["wiki"]))["marker"] == ".swarmdata-id"
    p2p = build_plan(**plan_kwargs(variant="p2p", primary=None, namespaces=["wiki"]))
    assert p2p["namespaces"][0]["marker"].endswith("/namespaces/wiki/.stfolder/swarmdata-id")


def test_namespace_defaults_and_path():
    plan = build_plan(**plan_kwargs(root="/data/", namespaces=["wiki"]))
    assert plan["namespaces"] == [{
        "name": "wiki",
        "criticality": "medium",
        "owner": "root",
        "group": "root",
        "mode": "0755",
        "path": "/data/namespaces/wiki",
        "marker": "/data/namespaces/wiki/.swarmdata-id",
        "identity_config": "swarmdata-ns-wiki",
        "primary": "node1",  # replication_primary, as the namespace sets none of its own
        "snapshots": {"interval": 21600, "keep": 28},  # criticality medium: every 6 hours, a week of them
        # criticality medium: daily backups, 7 daily, 4 weekly and 6 monthly kept, missed after 2 days
        "backup": {"interval": 86400, "keep_last": 0, "keep_hourly": 0, "keep_daily": 7, "keep_weekly": 4,
                   "keep_monthly": 6, "max_age": 172800, "criticality": "medium"},
        "hooks": None,  # no backup hooks
    }]


def test_namespace_group_defaults_to_owner_and_numeric_ids():
    plan = build_plan(**plan_kwargs(namespaces=[
        {"name": "wiki", "owner": "www-data", "criticality": "critical"},
        {"name": "db", "owner": 999, "group": 998},
        {"name": "logs", "group": "adm"},
    ]))
    wiki, db, logs = plan["namespaces"]
    assert (wiki["owner"], wiki["group"], wiki["criticality"]) == ("www-data", "www-data", "critical")
    assert (db["owner"], db["group"]) == ("999", "998")
    assert (logs["owner"], logs["group"]) == ("root", "adm")


def test_no_namespaces():
    plan = build_plan(**plan_kwargs(namespaces=None))
    assert plan["namespaces"] == []
    assert all(n["namespace_dirs"] == [] for n in plan["nodes"].values())


def test_bind_secret_names():
    plan = build_plan(**plan_kwargs(groups=groups(workers=["node2", "node3.example.com"])))
    assert plan["secrets"] == {
        "mover_key": "swarmdata-mover-key",
        "host_keys": {"node2": "swarmdata-hostkey-node2", "node3.example.com": "swarmdata-hostkey-node3.example.com"},
        "ssh_keys": [
            {"name": "swarmdata-mover-key", "comment": "swarmdata mover"},
            {"name": "swarmdata-hostkey-node2", "comment": "swarmdata receiver on node2"},
            {"name": "swarmdata-hostkey-node3.example.com", "comment": "swarmdata receiver on node3.example.com"},
        ],
    }
    for name in [plan["secrets"]["mover_key"]] + list(plan["secrets"]["host_keys"].values()):
        assert re.match(r"^[A-Za-z0-9_.-]{1,64}\Z", name)


def test_glusterfs_has_no_secrets():
    plan = build_plan(**plan_kwargs(variant="glusterfs", primary=None))
    assert plan["secrets"] == {"ssh_keys": []}


def test_label_prefix_propagates_to_labels_constraints_and_secrets():
    plan = build_plan(**plan_kwargs(label_prefix="acme.data-sync"))
    assert plan["label_prefix"] == "acme.data-sync"
    for host, node in plan["nodes"].items():
        expected = {"acme.data-sync.role", "acme.data-sync.member", "acme.data-sync.variant", "acme.data-sync.host"}
        if host == "node1":  # the primary of wiki
            expected.add("acme.data-sync.primary.wiki")
        assert set(node["labels"]) == expected
        assert node["labels"]["acme.data-sync.host"] == host
    assert plan["constraints"]["primary"] == ["node.labels.acme.data-sync.role == primary"]
    assert plan["constraints"]["member"] == ["node.labels.acme.data-sync.member == true"]
    assert all("swarmdata" not in c for cs in plan["constraints"].values() for c in cs)
    assert plan["secrets"]["mover_key"] == "acme.data-sync-mover-key"
    assert plan["bind"]["constraints"] == {"wiki": ["node.labels.acme.data-sync.primary.wiki == true"]}


def test_custom_group_names():
    plan = build_plan(groups={"mgr": ["a"], "wrk": ["b"]}, variant="bind", namespaces=[], primary="b",
                      managers_group="mgr", workers_group="wrk")
    assert plan["hosts"] == ["a", "b"]
    assert plan["nodes"]["b"]["role"] == "primary"
    assert plan["nodes"]["b"]["swarm_role"] == "worker"


def test_managers_only_and_managers_first():
    plan = build_plan(groups={"swarm_workers": ["w1"], "swarm_managers": ["m2", "m1"]}, variant="p2p",
                      namespaces=[])
    assert plan["hosts"] == ["m2", "m1", "w1"]
    assert plan["first_manager"] == "m2"
    plan = build_plan(groups={"swarm_managers": ["m1", "m2"]}, variant="p2p", namespaces=[])
    assert plan["workers"] == []


def test_build_plan_does_not_modify_its_input():
    kwargs = plan_kwargs(namespaces=[{"name": "wiki", "mode": "750", "owner": 999}])
    snapshot = repr(kwargs)
    build_plan(**kwargs)
    assert repr(kwargs) == snapshot


def test_defaults_are_the_documented_ones():
    assert _topology.DEFAULT_ROOT == "/opt/swarmdata"
    plan = build_plan(groups=groups(), variant="p2p", namespaces=["wiki"])
    assert plan["root"] == "/opt/swarmdata"
    assert plan["label_prefix"] == "swarmdata"
    assert plan["namespaces"][0]["path"] == "/opt/swarmdata/namespaces/wiki"


def test_per_node_constraints_pin_to_that_node_and_match_its_labels():
    plan = build_plan(**plan_kwargs(groups=groups(managers=["Node_1.example"], workers=["node2"]),
                                    primary="Node_1.example"))
    for host, node in plan["nodes"].items():
        for constraint in node["constraints"]:
            key, value = re.fullmatch(r"node\.labels\.(\S+) == (\S+)", constraint).groups()
            assert node["labels"][key] == value
        assert any(c.endswith("== %s" % host) for c in node["constraints"])
    assert plan["nodes"]["Node_1.example"]["slug"] == "node-1-example"
    assert plan["nodes"]["Node_1.example"]["receiver"] is None  # the primary has no receiver
    assert plan["nodes"]["node2"]["receiver"] == "recv-node2"


def test_hostnames_that_would_share_a_service_name_are_refused():
    with pytest.raises(TopologyError, match="differ only in case or punctuation"):
        build_plan(**plan_kwargs(groups=groups(managers=["node_1"], workers=["node-1"]), primary="node_1"))


# ------------------------------------------------------------------------- host names and addresses

@pytest.mark.parametrize("host", [
    "node1", "node2.example.com", "swarmdata-mol-1", "Node_1.example", "192.0.2.11", "2001:db8::1", "a" * 63,
])
def test_validate_host_name_accepts(host):
    assert validate_host_name(host, "x") == host


@pytest.mark.parametrize("host", [
    "", "node 1", "node'1", 'node"1', "node1;id", "$(id)", "`id`", "node1\n", "-node", "node-", "a..b", ".a",
    "a" * 64, "a:b", "tcp://x", "x/y", "x,y", "<x>", "fe80::1%eth0", None, 5,
])
def test_validate_host_name_rejects(host):
    with pytest.raises(TopologyError) as exc:
        validate_host_name(host, "ansible_host of host 'n'")
    assert str(exc.value).startswith("ansible_host of host 'n' must be an IPv4/IPv6 address or a DNS name")


@pytest.mark.parametrize("value", [
    "192.0.2.10", "192.0.2.10:2377", "eth0", "eth0:2377", "ens3.100", "2001:db8::1", "[2001:db8::1]:2377",
    "node1.example.com",
])
def test_validate_advertise_addr_accepts(value):
    assert validate_advertise_addr(value, "swarm_advertise_addr") == value


@pytest.mark.parametrize("value", [
    "192.0.2.10:0", "192.0.2.10:99999", "eth0:port", "[node1]:2377", "a b", "10.0.0.1;id", "", 5, "x:1:2:",
])
def test_validate_advertise_addr_rejects(value):
    with pytest.raises(TopologyError, match="^swarm_advertise_addr of host 'n' must be an IPv4/IPv6 address or a name"):
        validate_advertise_addr(value, "swarm_advertise_addr of host 'n'")


@pytest.mark.parametrize("key, value", [
    ("glusterfs_address", "10.0.0.2 10.0.0.3"),
    ("ansible_host", "node2'"),
    ("swarm_advertise_addr", "eth0; id"),
])
def test_validate_host_vars_names_the_variable_and_the_host(key, value):
    with pytest.raises(TopologyError) as exc:
        validate_host_vars("node2", {key: value})
    assert str(exc.value).startswith("%s of host 'node2' must be" % key)
    assert repr(value) in str(exc.value)


def test_validate_host_vars_accepts_the_lab_and_unset_values():
    # The lab: container names as ansible_host (connection docker), no glusterfs_address, no advertise address.
    validate_host_vars("swarmdata-mol-1", {"ansible_host": "swarmdata-mol-1", "glusterfs_address": None,
                                           "swarm_advertise_addr": ""})
    validate_host_vars("node1", {"glusterfs_address": "10.0.0.1", "ansible_host": "192.0.2.11",
                                 "swarm_advertise_addr": "192.0.2.11:2377"})


def test_lab_inventory_is_accepted_for_every_variant():
    hosts = ["swarmdata-mol-1", "swarmdata-mol-2", "swarmdata-mol-3"]
    for variant in ("bind", "glusterfs", "p2p"):
        plan = build_plan(groups={"swarm_managers": hosts[:1], "swarm_workers": hosts[1:]}, variant=variant,
                          namespaces=["wiki", {"name": "db", "owner": "999", "group": "999", "mode": "0750"}],
                          primary=hosts[0], addresses=dict((h, h) for h in hosts))
        assert [plan["nodes"][h]["address"] for h in hosts] == hosts


def test_bind_accepts_an_ipv6_address():
    plan = build_plan(**plan_kwargs(addresses={"node2": "2001:db8::2"}))
    assert plan["nodes"]["node2"]["address"] == "2001:db8::2"


# ------------------------------------------------------------------ bind: per-namespace primary and snapshots

def two_primaries_plan(**overrides):
    """wiki on replication_primary node1, db on its own primary node2, node3 a replica of both."""
    return build_plan(**plan_kwargs(namespaces=["wiki", {"name": "db", "primary": "node2", "criticality": "critical"}],
                                    **overrides))


def test_each_namespace_keeps_its_own_primary_and_snapshot_policy():
    plan = two_primaries_plan()
    assert plan["primary"] == "node1"
    assert [(ns["name"], ns["primary"], ns["snapshots"]) for ns in plan["namespaces"]] == [
        ("wiki", "node1", {"interval": 21600, "keep": 28}),
        ("db", "node2", {"interval": 900, "keep": 96}),
    ]


def test_namespaces_on_different_primaries_roles_and_labels():
    plan = two_primaries_plan()
    # A host that is the primary of any namespace has the primary role; the others are replicas.
    roles = {h: n["role"] for h, n in plan["nodes"].items()}
    assert roles == {"node1": "primary", "node2": "primary", "node3": "replica"}
    assert plan["replicas"] == ["node3"]
    per_ns = {h: sorted(k for k in n["labels"] if k.startswith("swarmdata.primary.")) for h, n in plan["nodes"].items()}
    assert per_ns == {"node1": ["swarmdata.primary.wiki"], "node2": ["swarmdata.primary.db"], "node3": []}
    assert plan["nodes"]["node2"]["labels"] == {
        "swarmdata.role": "primary",
        "swarmdata.member": "true",
        "swarmdata.variant": "bind",
        "swarmdata.host": "node2",
        "swarmdata.primary.db": "true",
    }
    # Each namespace's constraint selects exactly its primary.
    for ns, primary in (("wiki", "node1"), ("db", "node2")):
        (constraint,) = plan["bind"]["constraints"][ns]
        assert constraint == "node.labels.swarmdata.primary.%s == true" % ns
        assert [h for h, n in plan["nodes"].items() if constraint_holds(constraint, n["labels"])] == [primary]


def test_namespaces_on_different_primaries_bind_section():
    bind = two_primaries_plan()["bind"]
    assert bind["primaries"] == {"wiki": "node1", "db": "node2"}
    assert bind["services"] == {
        "sender": "sender",
        "senders": {"node1": "sender", "node2": "sender-node2"},
        # node1 and node2 are each the primary of one namespace and a replica of the other: both receive.
        "receivers": {"node1": "recv-node1", "node2": "recv-node2", "node3": "recv-node3"},
    }
    assert bind["sends"] == {"node1": ["wiki"], "node2": ["db"]}
    assert bind["targets"] == {"wiki": ["node2", "node3"], "db": ["node1", "node3"]}
    assert bind["snapshots"] == {"wiki": {"interval": 21600, "keep": 28}, "db": {"interval": 900, "keep": 96}}
    assert (bind["snapshot_dir"], bind["diverged_dir"]) == ("/opt/swarmdata/snapshots", "/opt/swarmdata/diverged")


def test_namespaces_on_different_primaries_peers_receivers_and_secrets():
    plan = two_primaries_plan()
    assert {h: n["peers"] for h, n in plan["nodes"].items()} == {
        "node1": ["node2", "node3"], "node2": ["node1", "node3"], "node3": ["node1", "node2"]}
    assert {h: n["receiver"] for h, n in plan["nodes"].items()} == {
        "node1": "recv-node1", "node2": "recv-node2", "node3": "recv-node3"}
    assert plan["secrets"]["host_keys"] == {"node1": "swarmdata-hostkey-node1", "node2": "swarmdata-hostkey-node2",
                                            "node3": "swarmdata-hostkey-node3"}


def test_a_host_primary_of_every_namespace_has_no_receiver():
    namespaces = [{"name": "wiki", "primary": "node3"}, {"name": "db", "primary": "node3"}]
    plan = build_plan(**plan_kwargs(namespaces=namespaces))
    bind = plan["bind"]
    assert bind["services"]["senders"] == {"node3": "sender-node3"}
    assert bind["services"]["receivers"] == {"node1": "recv-node1", "node2": "recv-node2"}
    assert bind["sends"] == {"node3": ["db", "wiki"]}
    assert bind["targets"] == {"wiki": ["node1", "node2"], "db": ["node1", "node2"]}
    assert plan["nodes"]["node3"]["receiver"] is None
    assert {k: v for k, v in plan["nodes"]["node3"]["labels"].items() if ".primary." in k} == {
        "swarmdata.primary.db": "true", "swarmdata.primary.wiki": "true"}


def test_a_namespace_primary_equal_to_the_default_changes_nothing():
    explicit = build_plan(**plan_kwargs(namespaces=[{"name": "wiki", "primary": "node1"}]))
    default = build_plan(**plan_kwargs(namespaces=["wiki"]))
    assert explicit == default


@pytest.mark.parametrize("primary", ["node9", "", 5, ["node1"]])
def test_a_bad_namespace_primary_names_the_variable(primary):
    namespaces = ["db", {"name": "wiki", "primary": primary}]
    with pytest.raises(TopologyError) as exc:
        build_plan(**plan_kwargs(namespaces=namespaces))
    message = str(exc.value)
    assert message.startswith("replication_namespaces[1].primary %r is not in" % (primary,))
    assert "'swarm_managers' or 'swarm_workers'" in message and "hosts: node1, node2, node3" in message


@pytest.mark.parametrize("snapshots, expected", [
    ({"interval": 0}, {"interval": 0, "keep": 28}),  # no scheduled snapshots
    ({"interval": 60}, {"interval": 60, "keep": 28}),
    ({"keep": 1}, {"interval": 21600, "keep": 1}),
    ({"interval": 3600, "keep": 5}, {"interval": 3600, "keep": 5}),
    ({}, {"interval": 21600, "keep": 28}),
])
def test_snapshots_override_the_criticality_policy(snapshots, expected):
    plan = build_plan(**plan_kwargs(namespaces=[{"name": "wiki", "snapshots": snapshots}]))
    assert plan["namespaces"][0]["snapshots"] == expected
    assert plan["bind"]["snapshots"] == {"wiki": expected}


def test_snapshot_policy_per_criticality():
    plan = build_plan(**plan_kwargs(namespaces=[{"name": c, "criticality": c}
                                                for c in ("critical", "high", "medium", "low")]))
    assert plan["bind"]["snapshots"] == {
        "critical": {"interval": 900, "keep": 96},
        "high": {"interval": 3600, "keep": 48},
        "medium": {"interval": 21600, "keep": 28},
        "low": {"interval": 86400, "keep": 14},
    }


def test_snapshots_override_does_not_modify_the_input():
    kwargs = plan_kwargs(namespaces=[{"name": "wiki", "snapshots": {"keep": 3}}])
    build_plan(**kwargs)
    assert kwargs["namespaces"] == [{"name": "wiki", "snapshots": {"keep": 3}}]


@pytest.mark.parametrize("snapshots, expected", [
    ({"interval": 30}, "replication_namespaces[0].snapshots.interval must be 0 (no scheduled snapshots) or at "
                       "least 60 seconds, got 30"),
    ({"interval": 1}, "replication_namespaces[0].snapshots.interval must be 0"),
    ({"interval": 59}, "at least 60 seconds, got 59"),
    ({"interval": -1}, "replication_namespaces[0].snapshots.interval must be an integer of at least 0, got -1"),
    ({"keep": 0}, "replication_namespaces[0].snapshots.keep must be an integer of at least 1, got 0"),
    ({"keep": True}, "replication_namespaces[0].snapshots.keep must be an integer of at least 1, got True"),
    ({"interval": False}, "replication_namespaces[0].snapshots.interval must be an integer of at least 0, got False"),
    ({"interval": "3600"}, "replication_namespaces[0].snapshots.interval must be an integer of at least 0, got '3600'"),
    ({"keep": 2.5}, "replication_namespaces[0].snapshots.keep must be an integer of at least 1, got 2.5"),
    ({"every": 60}, "replication_namespaces[0].snapshots must be a dict with 'interval'"),
    (True, "replication_namespaces[0].snapshots must be a dict with 'interval' (seconds, 0 for none) and/or 'keep', "
           "got True"),
    ([60, 3], "replication_namespaces[0].snapshots must be a dict"),
])
def test_bad_snapshots_override_is_refused(snapshots, expected):
    with pytest.raises(TopologyError) as exc:
        build_plan(**plan_kwargs(namespaces=[{"name": "wiki", "snapshots": snapshots}]))
    assert expected in str(exc.value)


@pytest.mark.parametrize("variant", ["glusterfs", "p2p"])
@pytest.mark.parametrize("key, value", [("primary", "node1"), ("snapshots", {"keep": 3})])
def test_primary_and_snapshots_apply_to_bind_only(variant, key, value):
    with pytest.raises(TopologyError) as exc:
        build_plan(**plan_kwargs(variant=variant, primary=None, namespaces=[{"name": "wiki", key: value}]))
    assert str(exc.value) == ("replication_namespaces: namespace 'wiki' sets %r, which applies to variant 'bind' "
                              "only, not %r" % (key, variant))


@pytest.mark.parametrize("variant", ["glusterfs", "p2p"])
def test_other_variants_have_no_per_namespace_labels_or_bind_keys(variant):
    plan = build_plan(**plan_kwargs(variant=variant, primary=None, namespaces=["wiki"]))
    for node in plan["nodes"].values():
        assert not [k for k in node["labels"] if ".primary." in k]
    assert "primary" not in plan["namespaces"][0] and "snapshots" not in plan["namespaces"][0]
    assert not [d for d in plan["nodes"]["node1"]["directories"] if d["path"].endswith(("/snapshots", "/diverged"))]
