# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_topology.py build_plan, variant 'glusterfs': the volume, its bricks and the addresses."""

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import TopologyError, build_plan


def plan(managers=("node1",), workers=("node2", "node3"), **kwargs):
    kwargs.setdefault("namespaces", ["wiki"])
    return build_plan({"swarm_managers": list(managers), "swarm_workers": list(workers)}, "glusterfs", **kwargs)


def test_three_hosts_defaults():
    gluster = plan()["gluster"]
    assert gluster == {
        "replica": 3,
        "arbiter": 0,
        "volume": "swarmdata",
        "brick_root": "/opt/swarmdata/brick",
        "mount": "/opt/swarmdata/namespaces",
        "bricks": [
            {"host": "node1", "path": "/opt/swarmdata/brick/swarmdata", "arbiter": False,
             "name": "node1:/opt/swarmdata/brick/swarmdata"},
            {"host": "node2", "path": "/opt/swarmdata/brick/swarmdata", "arbiter": False,
             "name": "node2:/opt/swarmdata/brick/swarmdata"},
            {"host": "node3", "path": "/opt/swarmdata/brick/swarmdata", "arbiter": False,
             "name": "node3:/opt/swarmdata/brick/swarmdata"},
        ],
    }


@pytest.mark.parametrize("prefix, volume", [
    ("swarmdata", "swarmdata"),
    ("acme.data", "acme-data"),
    ("a.b.c-d", "a-b-c-d"),
])
def test_volume_is_the_label_prefix_with_dashes(prefix, volume):
    p = plan(label_prefix=prefix, root="/srv/sd")
    assert p["gluster"]["volume"] == volume
    assert [b["path"] for b in p["gluster"]["bricks"]] == ["/srv/sd/brick/%s" % volume] * 3


def test_root_gives_brick_root_and_mount():
    gluster = plan(root="/srv/sd/")["gluster"]
    assert gluster["brick_root"] == "/srv/sd/brick"
    assert gluster["mount"] == "/srv/sd/namespaces"
    assert gluster["bricks"][0]["name"] == "node1:/srv/sd/brick/swarmdata"


def test_bricks_in_host_order_managers_first():
    # 5 hosts are not a multiple of 3: a replica count is needed; use 5.
    p = plan(managers=["m2", "m1"], workers=["w3", "w1", "w2"], replica_count=5)
    assert p["hosts"] == ["m2", "m1", "w3", "w1", "w2"]
    assert [b["host"] for b in p["gluster"]["bricks"]] == ["m2", "m1", "w3", "w1", "w2"]
    assert [b["name"] for b in p["gluster"]["bricks"]] == [
        "%s:/opt/swarmdata/brick/swarmdata" % h for h in ["m2", "m1", "w3", "w1", "w2"]]


def test_six_hosts_one_brick_each_in_order():
    gluster = plan(managers=["m1", "m2", "m3"], workers=["w1", "w2", "w3"])["gluster"]
    assert (gluster["replica"], gluster["arbiter"]) == (3, 0)
    assert [b["host"] for b in gluster["bricks"]] == ["m1", "m2", "m3", "w1", "w2", "w3"]
    assert not any(b["arbiter"] for b in gluster["bricks"])


def test_addresses_name_the_bricks():
    p = plan(addresses={"node1": "10.0.0.1", "node3": "node3.lan"})
    assert [b["name"] for b in p["gluster"]["bricks"]] == [
        "10.0.0.1:/opt/swarmdata/brick/swarmdata",
        "node2:/opt/swarmdata/brick/swarmdata",
        "node3.lan:/opt/swarmdata/brick/swarmdata",
    ]
    # The bricks still say which inventory host holds them.
    assert [b["host"] for b in p["gluster"]["bricks"]] == ["node1", "node2", "node3"]
    assert {h: n["address"] for h, n in p["nodes"].items()} == {
        "node1": "10.0.0.1", "node2": "node2", "node3": "node3.lan"}


@pytest.mark.parametrize("addresses", [None, {}, {"node2": None}, {"node2": ""}])
def test_address_defaults_to_the_hostname(addresses):
    p = plan(addresses=addresses)
    assert p["nodes"]["node2"]["address"] == "node2"
    assert p["gluster"]["bricks"][1]["name"] == "node2:/opt/swarmdata/brick/swarmdata"


def test_two_hosts_replica_2_arbiter_1_on_the_first_host():
    p = plan(managers=["node1"], workers=["node2"], addresses={"node1": "10.0.0.1", "node2": "10.0.0.2"})
    gluster = p["gluster"]
    assert (gluster["replica"], gluster["arbiter"]) == (2, 1)
    assert gluster["bricks"] == [
        {"host": "node1", "path": "/opt/swarmdata/brick/swarmdata", "arbiter": False,
         "name": "10.0.0.1:/opt/swarmdata/brick/swarmdata"},
        {"host": "node2", "path": "/opt/swarmdata/brick/swarmdata", "arbiter": False,
         "name": "10.0.0.2:/opt/swarmdata/brick/swarmdata"},
        {"host": "node1", "path": "/opt/swarmdata/brick/swarmdata-arbiter", "arbiter": True,
         "name": "10.0.0.1:/opt/swarmdata/brick/swarmdata-arbiter"},
    ]


def test_two_managers_arbiter_on_the_first_manager():
    gluster = plan(managers=["b", "a"], workers=[], label_prefix="x.y", root="/d")["gluster"]
    assert [(b["host"], b["name"], b["arbiter"]) for b in gluster["bricks"]] == [
        ("b", "b:/d/brick/x-y", False), ("a", "a:/d/brick/x-y", False), ("b", "b:/d/brick/x-y-arbiter", True)]


def test_same_address_for_two_hosts_refused():
    with pytest.raises(TopologyError) as exc:
        plan(addresses={"node1": "10.0.0.1", "node2": "10.0.0.1", "node3": "10.0.0.3"})
    assert str(exc.value) == ("hosts node1, node2 have the same address (glusterfs_address / ansible_host); each host "
                              "needs its own")


def test_address_equal_to_another_hosts_default_refused():
    with pytest.raises(TopologyError, match="hosts node2, node3 have the same address .*glusterfs_address"):
        plan(addresses={"node3": "node2"})


def test_nodes_of_a_gluster_plan():
    p = plan(addresses={"node2": "10.0.0.2"})
    assert p["variant"] == "glusterfs"
    assert p["primary"] is None
    for host, node in p["nodes"].items():
        assert node["role"] == "peer"
        assert node["namespace_dirs"] == []
        assert node["peers"] == [h for h in ["node1", "node2", "node3"] if h != host]
    assert p["nodes"]["node2"]["address"] == "10.0.0.2"
    assert p["nodes"]["node1"]["address"] == "node1"


def test_same_address_is_fine_where_peers_do_not_dial_each_other():
    # bind: the receivers are reached through the swarm, not at the hosts' addresses
    shared = build_plan({"swarm_managers": ["node1"], "swarm_workers": ["node2"]}, "bind", ["wiki"],
                        primary="node1", addresses={"node1": "127.0.0.1", "node2": "127.0.0.1"})
    assert shared["nodes"]["node2"]["address"] == "127.0.0.1"
    with pytest.raises(TopologyError, match="same address"):
        build_plan({"swarm_managers": ["node1"], "swarm_workers": ["node2"]}, "p2p", ["wiki"],
                   addresses={"node1": "127.0.0.1", "node2": "127.0.0.1"})


def test_p2p_plan_names_an_identity_per_host_and_the_api_key():
    p = build_plan({"swarm_managers": ["node1"], "swarm_workers": ["node2", "node3"]}, "p2p", ["wiki"],
                   label_prefix="acme.data")
    assert p["secrets"]["syncthing_identities"] == [
        {"name": "acme.data-syncthing-%s" % h, "host": h} for h in ("node1", "node2", "node3")]
    assert p["secrets"]["syncthing_api_key"] == "acme.data-syncthing-apikey"
    assert {"path": "/opt/swarmdata/state/syncthing", "owner": "root", "group": "root", "mode": "0700"} in \
        p["nodes"]["node2"]["directories"]
    assert p["nodes"]["node1"]["namespace_dirs"] == ["/opt/swarmdata/namespaces/wiki"]
