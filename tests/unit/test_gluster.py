# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_gluster.py against `gluster ... --xml` answers recorded from GlusterFS 10.3 on the lab."""

from pathlib import Path

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import (
    GlusterError,
    brick_layout,
    namespace_of,
    op_error,
    parse_cli,
    parse_heal_info,
    parse_pool,
    parse_volume_info,
    parse_volume_status,
    split_brick,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gluster"

LAB1 = "swarmdata-lab-1:/opt/swarmdata/brick/swarmdata"
LAB2 = "swarmdata-lab-2:/opt/swarmdata/brick/swarmdata"
LAB3 = "swarmdata-lab-3:/opt/swarmdata/brick/swarmdata"

# UUIDs of the recording with volume_info.xml / volume_status.xml / heal_info*.xml ...
UUID_A = {"swarmdata-lab-1": "7e98eabe-a74f-4293-90b8-095604c985b5",
          "swarmdata-lab-2": "4b6366a6-195a-48b5-9698-59887eef7d83",
          "swarmdata-lab-3": "9bd52fbc-47de-4e01-959f-8a97c76e1ac0"}
# ... and of the one with pool_list*.xml / volume_info_granular_off.xml / volume_status_brick_down.xml.
UUID_B = {"swarmdata-lab-1": "35fa1f00-c61e-4f01-ab4e-9e9cf90744eb",
          "swarmdata-lab-2": "b0be714c-e0de-4d82-97a7-fe4625773c1a",
          "swarmdata-lab-3": "971b81cd-66b1-494f-a168-0ff1ffa7f0ca"}

# What glusterd answers when it is not running (no XML at all).
NOT_RUNNING = "Connection failed. Please check if gluster daemon is operational.\n"
# `gluster volume status NAME --xml` of a volume that exists but is not started.
NOT_STARTED = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cliOutput>
  <opRet>-1</opRet>
  <opErrno>30800</opErrno>
  <opErrstr>Volume swarmdata is not started</opErrstr>
  <cliOp>volStatus</cliOp>
  <output>Volume swarmdata is not started</output>
</cliOutput>
"""


def fixture(name):
    return (FIXTURES / name).read_text()


# ------------------------------------------------------------------------------------------ parse_cli / op_error

def test_parse_cli_returns_the_cli_output_element():
    root = parse_cli(fixture("pool_list.xml"))
    assert root.tag == "cliOutput"
    assert root.findtext("opRet") == "0"
    assert len(root.findall("peerStatus/peer")) == 3


@pytest.mark.parametrize("name, command, message", [
    ("volume_create_peer_down.xml", "gluster volume create",
     "gluster volume create failed: Host swarmdata-lab-2 not connected (opErrno 30800)"),
    ("volume_info_missing.xml", "gluster volume info",
     "gluster volume info failed: Volume does not exist (opErrno 30806)"),
])
def test_parse_cli_raises_on_op_ret_not_zero(name, command, message):
    with pytest.raises(GlusterError) as exc:
        parse_cli(fixture(name), command)
    assert str(exc.value) == message


def test_parse_cli_root_partition_message_kept_whole():
    with pytest.raises(GlusterError) as exc:
        parse_cli(fixture("volume_create_root_partition.xml"), "gluster volume create")
    msg = str(exc.value)
    assert msg.startswith("gluster volume create failed: The brick swarmdata-lab-1:/srv/other is being created in "
                          "the root partition.")
    assert msg.endswith("if you want to override this behavior. (opErrno 30800)")


def test_parse_cli_without_error_text():
    xml = "<cliOutput><opRet>-1</opRet><opErrno>2</opErrno><opErrstr/></cliOutput>"
    with pytest.raises(GlusterError, match=r"^gluster peer probe failed: no error text \(opErrno 2\)$"):
        parse_cli(xml, "gluster peer probe")


def test_parse_cli_not_xml_names_the_command_and_quotes_the_output():
    with pytest.raises(GlusterError) as exc:
        parse_cli(NOT_RUNNING, "gluster pool list")
    msg = str(exc.value)
    assert msg.startswith("gluster pool list: output is not XML (")
    assert msg.endswith("): Connection failed. Please check if gluster daemon is operational.")


def test_parse_cli_missing_op_ret_counts_as_success():
    assert parse_cli("<cliOutput><output>x</output></cliOutput>").findtext("output") == "x"


def test_parse_cli_empty_op_ret_is_a_failure():
    with pytest.raises(GlusterError, match="failed: boom"):
        parse_cli("<cliOutput><opRet></opRet><opErrstr>boom</opErrstr></cliOutput>")


@pytest.mark.parametrize("name", ["pool_list.xml", "pool_list_disconnected.xml", "volume_info.xml",
                                  "volume_info_granular_off.xml", "volume_status.xml",
                                  "volume_status_brick_down.xml", "heal_info.xml", "heal_info_pending.xml",
                                  "heal_summary.xml"])
def test_op_error_none_for_successful_answers(name):
    assert op_error(fixture(name)) is None


@pytest.mark.parametrize("text, error", [
    (fixture("volume_create_peer_down.xml"), "Host swarmdata-lab-2 not connected"),
    (fixture("volume_info_missing.xml"), "Volume does not exist"),
    (NOT_STARTED, "Volume swarmdata is not started"),
    ("<cliOutput><opRet>-1</opRet><opErrno>30800</opErrno><opErrstr/></cliOutput>", "opErrno 30800"),
    ("<cliOutput><opRet>-1</opRet></cliOutput>", "opErrno ?"),
    (NOT_RUNNING, "Connection failed. Please check if gluster daemon is operational."),
    ("  \n", "no output"),
])
def test_op_error(text, error):
    assert op_error(text) == error


def test_op_error_root_partition():
    error = op_error(fixture("volume_create_root_partition.xml"))
    assert "being created in the root partition" in error
    assert error.startswith("The brick swarmdata-lab-1:/srv/other ")


# -------------------------------------------------------------------------------------------------- parse_pool

def test_parse_pool_recorded():
    assert parse_pool(fixture("pool_list.xml")) == [
        {"uuid": UUID_B["swarmdata-lab-2"], "hostname": "swarmdata-lab-2", "hostnames": ["swarmdata-lab-2"],
         "connected": True, "state": "Peer in Cluster", "self": False},
        {"uuid": UUID_B["swarmdata-lab-3"], "hostname": "swarmdata-lab-3", "hostnames": ["swarmdata-lab-3"],
         "connected": True, "state": "Peer in Cluster", "self": False},
        {"uuid": UUID_B["swarmdata-lab-1"], "hostname": "localhost", "hostnames": ["localhost"],
         "connected": True, "state": "local", "self": True},
    ]


def test_parse_pool_disconnected_peer():
    pool = parse_pool(fixture("pool_list_disconnected.xml"))
    assert [(p["hostname"], p["connected"], p["state"]) for p in pool] == [
        ("swarmdata-lab-2", False, "Peer in Cluster"),
        ("swarmdata-lab-3", True, "Peer in Cluster"),
        ("localhost", True, "local"),
    ]


def test_parse_pool_several_hostnames():
    xml = """<cliOutput><opRet>0</opRet><peerStatus><peer><uuid>u2</uuid><hostname>10.0.0.2</hostname>
    <hostnames><hostname>10.0.0.2</hostname><hostname>node2</hostname></hostnames><connected>1</connected>
    <stateStr>Peer Rejected</stateStr></peer></peerStatus></cliOutput>"""
    assert parse_pool(xml) == [{"uuid": "u2", "hostname": "10.0.0.2", "hostnames": ["10.0.0.2", "node2"],
                                "connected": True, "state": "Peer Rejected", "self": False}]


def test_parse_pool_error_and_not_xml():
    with pytest.raises(GlusterError, match="^gluster pool list failed: Host swarmdata-lab-2 not connected"):
        parse_pool(fixture("volume_create_peer_down.xml"))
    with pytest.raises(GlusterError, match="^gluster pool list: output is not XML"):
        parse_pool(NOT_RUNNING)


# ------------------------------------------------------------------------------------------------- split_brick

@pytest.mark.parametrize("name, expected", [
    (LAB1, ("swarmdata-lab-1", "/opt/swarmdata/brick/swarmdata")),
    ("10.0.0.1:/b", ("10.0.0.1", "/b")),
    ("[fe80::1]:/srv/b", ("[fe80::1]", "/srv/b")),
])
def test_split_brick(name, expected):
    assert split_brick(name) == expected


@pytest.mark.parametrize("name", ["swarmdata-lab-1", "/opt/brick", ":/opt/brick", "node1:relative/path", "node1:",
                                  ""])
def test_split_brick_refuses(name):
    with pytest.raises(GlusterError) as exc:
        split_brick(name)
    assert str(exc.value) == "brick %r is not host:/absolute/path" % name


# ------------------------------------------------------------------------------------------- parse_volume_info

def test_parse_volume_info_recorded():
    volumes = parse_volume_info(fixture("volume_info.xml"))
    assert list(volumes) == ["swarmdata"]
    vol = volumes["swarmdata"]
    assert vol["name"] == "swarmdata"
    assert vol["id"] == "a748f5c1-6ac9-4ba8-98d6-76e3345066c8"
    assert vol["status"] == "Started"
    assert vol["started"] is True
    assert vol["type"] == "Replicate"
    assert vol["replica"] == 3
    assert vol["arbiter"] == 0
    assert vol["bricks"] == [
        {"name": LAB1, "host": "swarmdata-lab-1", "path": "/opt/swarmdata/brick/swarmdata",
         "uuid": UUID_A["swarmdata-lab-1"], "arbiter": False},
        {"name": LAB2, "host": "swarmdata-lab-2", "path": "/opt/swarmdata/brick/swarmdata",
         "uuid": UUID_A["swarmdata-lab-2"], "arbiter": False},
        {"name": LAB3, "host": "swarmdata-lab-3", "path": "/opt/swarmdata/brick/swarmdata",
         "uuid": UUID_A["swarmdata-lab-3"], "arbiter": False},
    ]
    assert vol["options"] == {
        "cluster.quorum-type": "auto",
        "cluster.granular-entry-heal": "on",
        "storage.fips-mode-rchecksum": "on",
        "transport.address-family": "inet",
        "nfs.disable": "on",
        "performance.client-io-threads": "off",
    }


def test_parse_volume_info_granular_off_recording():
    vol = parse_volume_info(fixture("volume_info_granular_off.xml"))["swarmdata"]
    assert vol["id"] == "7fb7e950-e99b-4820-936c-be06dd5163e1"
    assert [b["uuid"] for b in vol["bricks"]] == [
        UUID_B["swarmdata-lab-1"], UUID_B["swarmdata-lab-2"], UUID_B["swarmdata-lab-3"]]
    assert vol["options"]["cluster.granular-entry-heal"] == "disable"
    assert vol["options"]["network.ping-timeout"] == "10"
    assert vol["options"]["auth.allow"] == "127.0.0.1,172.20.0.2,172.20.0.3,172.20.0.4"
    assert vol["options"]["cluster.server-quorum-type"] == "server"
    assert len(vol["options"]) == 9


def test_parse_volume_info_missing_volume_is_empty():
    assert parse_volume_info(fixture("volume_info_missing.xml")) == {}


def test_parse_volume_info_other_error_raises():
    with pytest.raises(GlusterError) as exc:
        parse_volume_info(fixture("volume_create_peer_down.xml"))
    assert str(exc.value) == "gluster volume info failed: Host swarmdata-lab-2 not connected"


def test_parse_volume_info_not_xml_raises():
    with pytest.raises(GlusterError, match="^gluster volume info failed: Connection failed"):
        parse_volume_info(NOT_RUNNING)


def test_parse_volume_info_arbiter_stopped_and_brick_from_text():
    xml = """<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volInfo><volumes><volume>
      <name>sd</name><id>i</id><status>0</status><statusStr>Created</statusStr><replicaCount>3</replicaCount>
      <arbiterCount>1</arbiterCount><typeStr>Replicate</typeStr><bricks>
      <brick uuid="u1">n1:/b/sd<name>n1:/b/sd</name><hostUuid>u1</hostUuid><isArbiter>0</isArbiter></brick>
      <brick uuid="u2">n2:/b/sd<name>n2:/b/sd</name><hostUuid>u2</hostUuid><isArbiter>0</isArbiter></brick>
      <brick uuid="u1">n1:/b/sd-arbiter</brick>
      </bricks><options/></volume><count>1</count></volumes></volInfo></cliOutput>"""
    vol = parse_volume_info(xml)["sd"]
    assert vol["started"] is False
    assert vol["status"] == "Created"
    assert (vol["replica"], vol["arbiter"]) == (3, 1)
    assert [(b["name"], b["arbiter"]) for b in vol["bricks"]] == [
        ("n1:/b/sd", False), ("n2:/b/sd", False), ("n1:/b/sd-arbiter", False)]
    assert vol["bricks"][2]["host"] == "n1"
    assert vol["options"] == {}


def test_parse_volume_info_is_arbiter_flag():
    xml = fixture("volume_info.xml").replace(
        "<name>swarmdata-lab-3:/opt/swarmdata/brick/swarmdata</name><hostUuid>9bd52fbc-47de-4e01-959f-8a97c76e1ac0"
        "</hostUuid><isArbiter>0</isArbiter>",
        "<name>swarmdata-lab-3:/opt/swarmdata/brick/swarmdata</name><hostUuid>9bd52fbc-47de-4e01-959f-8a97c76e1ac0"
        "</hostUuid><isArbiter>1</isArbiter>")
    assert xml != fixture("volume_info.xml")
    vol = parse_volume_info(xml)["swarmdata"]
    assert [b["arbiter"] for b in vol["bricks"]] == [False, False, True]


def test_parse_volume_info_bad_brick_name_raises():
    xml = fixture("volume_info.xml").replace("<name>swarmdata-lab-2:/opt/swarmdata/brick/swarmdata</name>",
                                             "<name>swarmdata-lab-2</name>")
    with pytest.raises(GlusterError, match="brick 'swarmdata-lab-2' is not host:/absolute/path"):
        parse_volume_info(xml)


# ----------------------------------------------------------------------------------------- parse_volume_status

def test_parse_volume_status_recorded():
    status = parse_volume_status(fixture("volume_status.xml"))
    assert status["bricks"] == [
        {"host": "swarmdata-lab-1", "path": "/opt/swarmdata/brick/swarmdata", "peer": UUID_A["swarmdata-lab-1"],
         "online": True, "pid": 758, "port": 51053, "name": LAB1},
        {"host": "swarmdata-lab-2", "path": "/opt/swarmdata/brick/swarmdata", "peer": UUID_A["swarmdata-lab-2"],
         "online": True, "pid": 702, "port": 59960, "name": LAB2},
        {"host": "swarmdata-lab-3", "path": "/opt/swarmdata/brick/swarmdata", "peer": UUID_A["swarmdata-lab-3"],
         "online": True, "pid": 694, "port": 53772, "name": LAB3},
    ]
    assert status["self_heal"] == [
        {"host": "localhost", "peer": UUID_A["swarmdata-lab-1"], "online": True, "pid": 775, "port": None},
        {"host": "swarmdata-lab-2", "peer": UUID_A["swarmdata-lab-2"], "online": True, "pid": 719, "port": None},
        {"host": "swarmdata-lab-3", "peer": UUID_A["swarmdata-lab-3"], "online": True, "pid": 711, "port": None},
    ]


def test_parse_volume_status_brick_down_recording():
    # Recorded with swarmdata-lab-2 stopped: its brick and its self-heal daemon are simply absent.
    status = parse_volume_status(fixture("volume_status_brick_down.xml"))
    assert [(b["name"], b["online"], b["pid"], b["port"]) for b in status["bricks"]] == [
        (LAB1, True, 1917, 60504), (LAB3, True, 1923, 53646)]
    assert [(s["host"], s["peer"]) for s in status["self_heal"]] == [
        ("localhost", UUID_B["swarmdata-lab-1"]), ("swarmdata-lab-3", UUID_B["swarmdata-lab-3"])]


def test_parse_volume_status_offline_brick():
    xml = fixture("volume_status.xml").replace(
        "<status>1</status>\n          <port>59960</port>", "<status>0</status>\n          <port>N/A</port>")
    assert xml != fixture("volume_status.xml")
    bricks = parse_volume_status(xml)["bricks"]
    assert [(b["name"], b["online"]) for b in bricks] == [(LAB1, True), (LAB2, False), (LAB3, True)]
    assert bricks[1]["port"] is None


@pytest.mark.parametrize("text", [NOT_STARTED, fixture("volume_info_missing.xml"), NOT_RUNNING])
def test_parse_volume_status_not_started_is_empty(text):
    assert parse_volume_status(text) == {"bricks": [], "self_heal": []}


def test_parse_volume_status_ignores_other_daemons():
    xml = """<cliOutput><opRet>0</opRet><volStatus><volumes><volume><volName>sd</volName>
      <node><hostname>NFS Server</hostname><path>localhost</path><peerid>u1</peerid><status>0</status>
      <port>N/A</port><pid>-1</pid></node>
      <node><hostname>n1</hostname><path>/b/sd</path><peerid>u1</peerid><status>1</status><port>49152</port>
      <pid>10</pid></node></volume></volumes></volStatus></cliOutput>"""
    status = parse_volume_status(xml)
    assert [b["name"] for b in status["bricks"]] == ["n1:/b/sd"]
    assert status["self_heal"] == []


# ------------------------------------------------------------------------------------------------ namespace_of

@pytest.mark.parametrize("path, namespace", [
    ("/wiki/a/b", "wiki"),
    ("/wiki", "wiki"),
    ("/wiki/", "wiki"),
    ("//db//x", "db"),
    ("/", "/"),
    ("", "/"),
    ("wiki/f1", "wiki"),
])
def test_namespace_of(path, namespace):
    assert namespace_of(path) == namespace


# --------------------------------------------------------------------------------------------- parse_heal_info

def test_parse_heal_info_clean():
    bricks = parse_heal_info(fixture("heal_info.xml"))
    assert bricks == [
        {"name": LAB1, "status": "Connected", "connected": True, "pending": 0, "by_namespace": {}},
        {"name": LAB2, "status": "Connected", "connected": True, "pending": 0, "by_namespace": {}},
        {"name": LAB3, "status": "Connected", "connected": True, "pending": 0, "by_namespace": {}},
    ]


def test_parse_heal_info_pending_and_unreachable_brick():
    bricks = parse_heal_info(fixture("heal_info_pending.xml"))
    assert bricks == [
        {"name": LAB1, "status": "Connected", "connected": True, "pending": 5, "by_namespace": {"/": 1, "wiki": 4}},
        {"name": LAB2, "status": "Connected", "connected": True, "pending": 5, "by_namespace": {"/": 1, "wiki": 4}},
        # numberOfEntries '-': unknown, not zero.
        {"name": LAB3, "status": "Transport endpoint is not connected", "connected": False, "pending": None,
         "by_namespace": {}},
    ]


def test_parse_heal_info_gfid_entries():
    xml = fixture("heal_info_pending.xml").replace(
        '<file gfid="4f1944f7-8fa9-4133-8e76-9bd440fab13c">/wiki/f3</file>',
        '<file gfid="4f1944f7-8fa9-4133-8e76-9bd440fab13c">&lt;gfid:4f1944f7-8fa9-4133-8e76-9bd440fab13c&gt;</file>',
        1)
    bricks = parse_heal_info(xml)
    assert bricks[0]["by_namespace"] == {"/": 1, "wiki": 3, "<gfid>": 1}
    assert bricks[0]["pending"] == 5
    assert bricks[1]["by_namespace"] == {"/": 1, "wiki": 4}


def test_parse_heal_info_summary_names_and_connection():
    bricks = parse_heal_info(fixture("heal_summary.xml"))
    assert [(b["name"], b["connected"]) for b in bricks] == [(LAB1, True), (LAB2, True), (LAB3, True)]


def test_parse_heal_info_error_raises():
    with pytest.raises(GlusterError, match=r"^gluster volume heal info failed: Volume swarmdata is not started"):
        parse_heal_info(NOT_STARTED)


# ------------------------------------------------------------------------------------------------ brick_layout

def test_brick_layout_three_hosts():
    bricks = brick_layout(["node1", "node2", "node3"], "/opt/swarmdata/brick", "swarmdata", 3, 0)
    assert bricks == [
        {"host": h, "address": h, "path": "/opt/swarmdata/brick/swarmdata", "arbiter": False,
         "name": "%s:/opt/swarmdata/brick/swarmdata" % h}
        for h in ["node1", "node2", "node3"]
    ]


def test_brick_layout_addresses():
    bricks = brick_layout(["node1", "node2", "node3"], "/srv/brick", "sd", 3, 0,
                          address={"node1": "10.0.0.1", "node3": "n3.lan"})
    assert [b["name"] for b in bricks] == ["10.0.0.1:/srv/brick/sd", "node2:/srv/brick/sd", "n3.lan:/srv/brick/sd"]
    assert [b["host"] for b in bricks] == ["node1", "node2", "node3"]


def test_brick_layout_two_hosts_arbiter_on_first():
    bricks = brick_layout(["node1", "node2"], "/srv/brick", "sd", 2, 1, address={"node1": "10.0.0.1"})
    assert bricks == [
        {"host": "node1", "address": "10.0.0.1", "path": "/srv/brick/sd", "arbiter": False,
         "name": "10.0.0.1:/srv/brick/sd"},
        {"host": "node2", "address": "node2", "path": "/srv/brick/sd", "arbiter": False,
         "name": "node2:/srv/brick/sd"},
        {"host": "node1", "address": "10.0.0.1", "path": "/srv/brick/sd-arbiter", "arbiter": True,
         "name": "10.0.0.1:/srv/brick/sd-arbiter"},
    ]


@pytest.mark.parametrize("hosts, replica, message", [
    (["n1", "n2", "n3"], 3, "got 3 hosts, replica 3"),
    (["n1", "n2", "n3"], 2, "got 3 hosts, replica 2"),
    (["n1", "n2"], 3, "got 2 hosts, replica 3"),
])
def test_brick_layout_arbiter_only_for_two_hosts(hosts, replica, message):
    with pytest.raises(GlusterError) as exc:
        brick_layout(hosts, "/srv/brick", "sd", replica, 1)
    assert str(exc.value) == "an arbiter is only laid out for 2 hosts with replica 2, " + message


def test_parse_heal_info_summary_counts_total_entries():
    bricks = parse_heal_info(fixture("heal_summary.xml"))
    assert [b["pending"] for b in bricks] == [0, 0, 0]
