# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gluster_peer, gluster_volume and gluster_volume_info run in-process against a fake, stateful `gluster` CLI.

The fake answers the argv the modules pass to ``AnsibleModule.run_command`` with XML laid out like the answers
recorded from GlusterFS 10.3 (tests/unit/fixtures/gluster); the tests at the top check that it parses to the
same thing as those recordings. Where a scenario was recorded, the recorded answer itself is served.
"""

import itertools
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import (
    parse_pool,
    parse_volume_info,
    parse_volume_status,
)
from ansible_collections.swarmdata.replication.plugins.modules import gluster_peer, gluster_volume, gluster_volume_info

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gluster"

L1, L2, L3 = "swarmdata-lab-1", "swarmdata-lab-2", "swarmdata-lab-3"
PATH = "/opt/swarmdata/brick/swarmdata"
B1, B2, B3 = ("%s:%s" % (h, PATH) for h in (L1, L2, L3))
BRICKS3 = [B1, B2, B3]
ARBITER = "%s:%s-arbiter" % (L1, PATH)
LOCAL_UUID = "35fa1f00-c61e-4f01-ab4e-9e9cf90744eb"  # swarmdata-lab-1 in pool_list.xml
GRANULAR = "cluster.granular-entry-heal"
# Options GlusterFS 10.3 gives a new volume (volume_info.xml, where only cluster.quorum-type was set by hand).
CREATE_DEFAULTS = {GRANULAR: "on", "storage.fips-mode-rchecksum": "on", "transport.address-family": "inet",
                   "nfs.disable": "on", "performance.client-io-threads": "off"}
NOT_RUNNING = "Connection failed. Please check if gluster daemon is operational.\n"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def fixture(name):
    return (FIXTURES / name).read_text()


def ok_xml(body=""):
    return XML_HEAD + "<cliOutput>\n  <opRet>0</opRet>\n  <opErrno>0</opErrno>\n  <opErrstr/>\n%s</cliOutput>\n" % body


def error_xml(errstr, errno=30800):
    # Laid out like volume_create_peer_down.xml / volume_create_root_partition.xml.
    return (XML_HEAD + "<cliOutput>\n  <opRet>-1</opRet>\n  <opErrno>%d</opErrno>\n  <opErrstr>%s</opErrstr>\n"
            "</cliOutput>\n" % (errno, escape(errstr)))


class FakeGluster:
    """glusterd as seen from swarmdata-lab-1: a pool, volumes, and the CLI's answers to argv.

    ``calls`` holds every argv; ``changes`` the commands that change something ('peer probe X',
    'volume create ...', 'volume heal NAME ...' but not 'volume heal NAME info'), without 'gluster --mode=script'
    and '--xml', whether they succeeded or not. ``replies`` maps a read ('pool list', 'volume info NAME', ...)
    to a recorded answer served instead of one built from the state.
    """

    def __init__(self):
        self.local = L1
        self.local_uuid = LOCAL_UUID
        self.peers = {}  # hostname -> {"uuid", "connected", "state"}
        self.volumes = {}  # name -> {"id", "started", "replica", "arbiter", "bricks", "options", "online"}
        self.calls = []
        self.changes = []
        self.replies = {}
        self.down = False  # glusterd not running
        self.create_error = None  # answer to 'volume create'
        self.unreachable = set()  # hosts a probe cannot reach
        self.join_disconnected = set()  # hosts that join the pool but stay disconnected
        self.connect_after = {}  # host -> pool reads after its probe before it shows connected
        self._connecting = {}
        self.stuck_bricks = set()  # bricks that 'volume start NAME force' does not bring back
        self.heal_rc = []  # exit codes of successive 'volume heal' commands; 0 when empty
        self.pending = {}  # brick name -> paths pending heal on it
        self._uuids = ("00000000-0000-4000-8000-%012d" % i for i in itertools.count(1))

    # ---- set-up

    def add_peer(self, host, uuid=None, connected=True, state="Peer in Cluster"):
        self.peers[host] = {"uuid": uuid or next(self._uuids), "connected": connected, "state": state}

    def load_pool(self, xml):
        for peer in parse_pool(xml):
            if peer["self"]:
                self.local_uuid = peer["uuid"]
            else:
                self.add_peer(peer["hostname"], peer["uuid"], peer["connected"], peer["state"])

    def add_volume(self, name, bricks, replica, arbiter=0, started=True, options=None, offline=(), vol_id=None):
        arbiters = set(bricks[replica - 1::replica]) if arbiter else set()
        self.volumes[name] = {
            "id": vol_id or next(self._uuids), "started": started, "replica": replica, "arbiter": arbiter,
            "bricks": [{"name": b, "host": b.rpartition(":")[0], "arbiter": b in arbiters} for b in bricks],
            "options": dict(CREATE_DEFAULTS if options is None else options),
            "online": set(b for b in bricks if started and b not in offline and self.connected(b.rpartition(":")[0])),
        }

    def load_volume(self, xml, offline=()):
        for name, vol in parse_volume_info(xml).items():
            self.add_volume(name, [b["name"] for b in vol["bricks"]], vol["replica"], vol["arbiter"], vol["started"],
                            vol["options"], offline, vol["id"])

    # ---- state

    def uuid(self, host):
        if host == self.local:
            return self.local_uuid
        return self.peers[host]["uuid"] if host in self.peers else None

    def connected(self, host):
        return host == self.local or (host in self.peers and self.peers[host]["connected"])

    # ---- answers

    def __call__(self, argv):
        self.calls.append(list(argv))
        assert len(self.calls) < 500, "a module keeps calling gluster: %r" % argv
        assert argv[:2] == ["gluster", "--mode=script"], argv
        if self.down:
            return 1, "", NOT_RUNNING
        xml = argv[-1] == "--xml"
        args = argv[2:-1] if xml else argv[2:]
        key = " ".join(args)
        if args[:2] == ["volume", "heal"] and args[3:] != ["info"]:
            assert not xml, "'volume heal' has no XML form: %r" % argv
            self.changes.append(key)
            return self.heal(args[2], args[3:])
        assert xml, "only 'volume heal' runs without --xml: %r" % argv
        if key in self.replies:
            return 0, self.replies[key], ""
        if key == "pool list":
            return 0, self.pool_list(), ""
        if args[:2] == ["volume", "info"]:
            return 0, self.volume_info(args[2]), ""
        if args[:2] == ["volume", "status"]:
            return 0, self.volume_status(args[2]), ""
        if args[:2] == ["volume", "heal"] and args[3:] == ["info"]:
            return 0, self.heal_info(args[2]), ""
        self.changes.append(key)
        handler = {("peer", "probe"): self.probe, ("peer", "detach"): self.detach,
                   ("volume", "create"): self.create, ("volume", "set"): self.set,
                   ("volume", "start"): self.start}[tuple(args[:2])]
        return 0, handler(*args[2:]), ""

    def pool_list(self):
        for host in list(self._connecting):
            self._connecting[host] -= 1
            if self._connecting[host] <= 0:
                del self._connecting[host]
                self.peers[host].update(connected=True, state="Peer in Cluster")
        peers = ""
        for host, p in self.peers.items():
            peers += ("    <peer>\n      <uuid>%s</uuid>\n      <hostname>%s</hostname>\n      <hostnames>\n"
                      "        <hostname>%s</hostname>\n      </hostnames>\n      <connected>%d</connected>\n"
                      "      <state>3</state>\n      <stateStr>%s</stateStr>\n    </peer>\n"
                      % (p["uuid"], escape(host), escape(host), p["connected"], escape(p["state"])))
        peers += ("    <peer>\n      <uuid>%s</uuid>\n      <hostname>localhost</hostname>\n"
                  "      <connected>1</connected>\n    </peer>\n" % self.local_uuid)
        return ok_xml("  <peerStatus>\n%s  </peerStatus>\n" % peers)

    def volume_info(self, name):
        if name not in self.volumes:
            return fixture("volume_info_missing.xml")
        v = self.volumes[name]
        bricks = "".join(
            '          <brick uuid="{u}">{n}<name>{n}</name><hostUuid>{u}</hostUuid><isArbiter>{a}</isArbiter>'
            "</brick>\n".format(u=self.uuid(b["host"]), n=escape(b["name"]), a=int(b["arbiter"]))
            for b in v["bricks"])
        options = "".join("          <option>\n            <name>%s</name>\n            <value>%s</value>\n"
                          "          </option>\n" % (escape(k), escape(val)) for k, val in v["options"].items())
        sets = len(v["bricks"]) // v["replica"]
        return ok_xml(
            "  <volInfo>\n    <volumes>\n      <volume>\n        <name>%s</name>\n        <id>%s</id>\n"
            "        <status>%d</status>\n        <statusStr>%s</statusStr>\n        <snapshotCount>0</snapshotCount>\n"
            "        <brickCount>%d</brickCount>\n        <distCount>%d</distCount>\n"
            "        <replicaCount>%d</replicaCount>\n        <arbiterCount>%d</arbiterCount>\n"
            "        <disperseCount>0</disperseCount>\n        <redundancyCount>0</redundancyCount>\n"
            "        <type>%d</type>\n        <typeStr>%s</typeStr>\n        <transport>0</transport>\n"
            "        <bricks>\n%s        </bricks>\n        <optCount>%d</optCount>\n        <options>\n%s"
            "        </options>\n      </volume>\n      <count>1</count>\n    </volumes>\n  </volInfo>\n"
            % (escape(name), v["id"], int(v["started"]), "Started" if v["started"] else "Created",
               len(v["bricks"]), sets, v["replica"], v["arbiter"], 2 if sets == 1 else 7,
               "Replicate" if sets == 1 else "Distributed-Replicate", bricks, len(v["options"]), options))

    def volume_status(self, name):
        if name not in self.volumes:
            return error_xml("Volume %s does not exist" % name, 30806)
        v = self.volumes[name]
        if not v["started"]:
            return error_xml("Volume %s is not started" % name)
        # A brick whose host is down is missing from the answer, and so is that host's self-heal daemon
        # (volume_status_brick_down.xml).
        nodes = []
        for i, b in enumerate(v["bricks"]):
            if not self.connected(b["host"]):
                continue
            on = b["name"] in v["online"]
            nodes.append((b["host"], b["name"].rpartition(":")[2], self.uuid(b["host"]), on,
                          49152 + i if on else "N/A", 1000 + i if on else -1))
        shd_hosts = []
        for b in v["bricks"]:
            if self.connected(b["host"]) and b["host"] not in shd_hosts:
                shd_hosts.append(b["host"])
        for i, host in enumerate(shd_hosts):
            nodes.append(("Self-heal Daemon", "localhost" if host == self.local else host, self.uuid(host), True,
                          "N/A", 2000 + i))
        body = "".join(
            "        <node>\n          <hostname>%s</hostname>\n          <path>%s</path>\n"
            "          <peerid>%s</peerid>\n          <status>%d</status>\n          <port>%s</port>\n"
            "          <ports>\n            <tcp>%s</tcp>\n            <rdma>N/A</rdma>\n          </ports>\n"
            "          <pid>%s</pid>\n        </node>\n" % (escape(h), escape(p), u, on, port, port, pid)
            for h, p, u, on, port, pid in nodes)
        return ok_xml("  <volStatus>\n    <volumes>\n      <volume>\n        <volName>%s</volName>\n"
                      "        <nodeCount>%d</nodeCount>\n%s        <tasks/>\n      </volume>\n    </volumes>\n"
                      "  </volStatus>\n" % (escape(name), len(nodes), body))

    def heal_info(self, name):
        if name not in self.volumes:
            return error_xml("Volume %s does not exist" % name, 30806)
        v = self.volumes[name]
        if not v["started"]:
            return error_xml("Volume %s is not started" % name)
        body = ""
        for b in v["bricks"]:
            if self.connected(b["host"]) and b["name"] in v["online"]:
                files = self.pending.get(b["name"], [])
                body += ('      <brick hostUuid="%s">\n        <name>%s</name>\n%s        <status>Connected</status>\n'
                         "        <numberOfEntries>%d</numberOfEntries>\n      </brick>\n"
                         % (self.uuid(b["host"]), escape(b["name"]),
                            "".join('        <file gfid="g%d">%s</file>\n' % (i, escape(f))
                                    for i, f in enumerate(files)), len(files)))
            else:
                body += ('      <brick hostUuid="-">\n        <name>%s</name>\n'
                         "        <status>Transport endpoint is not connected</status>\n"
                         "        <numberOfEntries>-</numberOfEntries>\n      </brick>\n" % escape(b["name"]))
        return ok_xml("  <healInfo>\n    <bricks>\n%s    </bricks>\n  </healInfo>\n" % body)

    # ---- changing commands

    def probe(self, host):
        if host == self.local:
            return ok_xml("  <output>Probe on localhost not needed</output>\n").replace(
                "<opErrno>0</opErrno>", "<opErrno>1</opErrno>")
        if host in self.unreachable:
            return error_xml("Probe returned with Transport endpoint is not connected", 107)
        if host in self.peers:
            return ok_xml("  <output>Host %s port 24007 already in peer list</output>\n" % host).replace(
                "<opErrno>0</opErrno>", "<opErrno>2</opErrno>")
        if host in self.connect_after:
            self.add_peer(host, connected=False, state="Accepted peer request")
            self._connecting[host] = self.connect_after[host]
        else:
            self.add_peer(host, connected=host not in self.join_disconnected)
        return ok_xml("  <output>peer probe: success</output>\n")

    def detach(self, host):
        if host not in self.peers:
            return error_xml("%s is not part of cluster" % host, 2)
        del self.peers[host]
        return ok_xml("  <output>peer detach: success</output>\n")

    def create(self, name, *args):
        if self.create_error is not None:
            return self.create_error
        if name in self.volumes:
            return error_xml("Volume %s already exists" % name)
        args = list(args)
        force = args[-1:] == ["force"]
        if force:
            args.pop()
        assert args[0] == "replica", args
        replica, args = int(args[1]), args[2:]
        arbiter = 0
        if args[0] == "arbiter":
            arbiter, args = int(args[1]), args[2:]
        for brick in args:
            host = brick.rpartition(":")[0]
            if self.uuid(host) is None:
                return error_xml("Host %s is not in 'Peer in Cluster' state" % host)
            if not self.connected(host):
                return error_xml("Host %s not connected" % host)
        hosts = [b.rpartition(":")[0] for b in args]
        if not force and any(len(set(hosts[i:i + replica])) < replica for i in range(0, len(hosts), replica)):
            return error_xml("Multiple bricks of a replicate volume are present on the same server. This setup is "
                             "not optimal. Bricks should be on different nodes to have best fault tolerant "
                             "configuration. Use 'force' at the end of the command if you want to override this "
                             "behavior. ")
        self.add_volume(name, args, replica, arbiter, started=False)
        return ok_xml("  <volCreate>\n    <volume>\n      <name>%s</name>\n      <id>%s</id>\n    </volume>\n"
                      "  </volCreate>\n" % (name, self.volumes[name]["id"]))

    def set(self, name, key, value):
        self.volumes[name]["options"][key] = value
        return ok_xml("  <volSet>\n    <volname>%s</volname>\n  </volSet>\n" % name)

    def start(self, name, force=None):
        v = self.volumes[name]
        if v["started"] and force != "force":
            return error_xml("Volume %s already started" % name)
        v["started"] = True
        v["online"] |= set(b["name"] for b in v["bricks"]
                           if self.connected(b["host"]) and b["name"] not in self.stuck_bricks)
        return ok_xml("  <volStart>\n    <volume>\n      <name>%s</name>\n      <id>%s</id>\n    </volume>\n"
                      "  </volStart>\n" % (name, v["id"]))

    def heal(self, name, args):
        rc = self.heal_rc.pop(0) if self.heal_rc else 0
        if rc:
            return rc, "", ("Launching heal operation to perform index self heal on volume %s has been unsuccessful:"
                            "\nSelf-heal daemon is not running. Check self-heal daemon log file.\n" % name)
        if args[:1] == ["granular-entry-heal"]:
            self.volumes[name]["options"][GRANULAR] = args[1]
            return 0, "Granular entry heal %sd for volume %s\n" % (args[1], name), ""
        assert args == [], args
        return 0, ("Launching heal operation to perform index self heal on volume %s has been successful \n"
                   "Use heal info commands to check status.\n" % name), ""


class FakeClock:
    """Stands in for the ``time`` module inside a module under test: sleeping only moves the clock."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def gluster(monkeypatch):
    fake = FakeGluster()
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, args, **kwargs: fake(args))
    return fake


@pytest.fixture
def lab(gluster):
    """The lab as recorded: pool_list.xml, volume 'swarmdata' as in volume_info_granular_off.xml."""
    gluster.load_pool(fixture("pool_list.xml"))
    gluster.load_volume(fixture("volume_info_granular_off.xml"))
    return gluster


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """No test here really sleeps: the modules' ``time`` is a FakeClock."""
    fake = FakeClock()
    monkeypatch.setattr(gluster_peer, "time", fake)
    monkeypatch.setattr(gluster_volume, "time", fake)
    return fake


@pytest.fixture
def warnings(monkeypatch):
    """What the module passes to AnsibleModule.warn (in-process, Ansible hands it to the controller's Display)."""
    seen = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: seen.append(warning))
    return seen


# ------------------------------------------------------------------------------ the fake against the recordings

def test_fake_pool_list_parses_like_the_recording(gluster):
    gluster.load_pool(fixture("pool_list.xml"))
    assert parse_pool(gluster(["gluster", "--mode=script", "pool", "list", "--xml"])[1]) == \
        parse_pool(fixture("pool_list.xml"))
    gluster.peers[L2]["connected"] = False
    assert parse_pool(gluster(["gluster", "--mode=script", "pool", "list", "--xml"])[1]) == \
        parse_pool(fixture("pool_list_disconnected.xml"))


def test_fake_volume_info_parses_like_the_recording(lab):
    rc, out, err = lab(["gluster", "--mode=script", "volume", "info", "swarmdata", "--xml"])
    assert rc == 0
    assert parse_volume_info(out) == parse_volume_info(fixture("volume_info_granular_off.xml"))
    assert lab(["gluster", "--mode=script", "volume", "info", "other", "--xml"])[1] == \
        fixture("volume_info_missing.xml")


def test_fake_volume_status_with_lab_2_down_is_laid_out_like_the_recording(lab):
    lab.peers[L2]["connected"] = False
    lab.volumes["swarmdata"]["online"].discard(B2)
    fake = parse_volume_status(lab(["gluster", "--mode=script", "volume", "status", "swarmdata", "--xml"])[1])
    recorded = parse_volume_status(fixture("volume_status_brick_down.xml"))
    assert [(b["name"], b["online"], b["peer"]) for b in fake["bricks"]] == \
        [(b["name"], b["online"], b["peer"]) for b in recorded["bricks"]] == \
        [(B1, True, LOCAL_UUID), (B3, True, lab.uuid(L3))]
    assert [(s["host"], s["peer"]) for s in fake["self_heal"]] == \
        [(s["host"], s["peer"]) for s in recorded["self_heal"]]


def test_fake_create_with_lab_2_down_answers_like_the_recording(lab):
    lab.peers[L2]["connected"] = False
    out = lab(["gluster", "--mode=script", "volume", "create", "other", "replica", "3",
               L1 + ":/b", L2 + ":/b", L3 + ":/b", "--xml"])[1]
    assert out == fixture("volume_create_peer_down.xml")


# ------------------------------------------------------------------------------------------------- gluster_peer

def peer_args(**overrides):
    args = {"peers": [L1, L2, L3], "self_address": L1}
    args.update(overrides)
    return args


def test_peer_probes_missing_peers_then_nothing(gluster, run_module, clock):
    run = run_module(gluster_peer, peer_args())
    assert run.rc == 0, run.result
    assert run.result["changed"] is True
    assert run.result["probed"] == [L2, L3]
    assert gluster.changes == ["peer probe %s" % L2, "peer probe %s" % L3]
    assert ["gluster", "--mode=script", "peer", "probe", L2, "--xml"] in gluster.calls
    assert sorted((p["hostname"], p["connected"], p["state"]) for p in run.result["peers"]) == [
        ("localhost", True, "local"), (L2, True, "Peer in Cluster"), (L3, True, "Peer in Cluster")]

    again = run_module(gluster_peer, peer_args())
    assert again.result["changed"] is False
    assert again.result["probed"] == []
    assert len(gluster.changes) == 2
    assert clock.slept == []


def test_peer_known_peers_are_not_probed(gluster, run_module):
    gluster.load_pool(fixture("pool_list.xml"))
    run = run_module(gluster_peer, peer_args())
    assert run.result["changed"] is False
    assert run.result["probed"] == []
    assert gluster.changes == []
    assert run.result["peers"] == parse_pool(fixture("pool_list.xml"))


def test_peer_known_by_recorded_pool_answer(gluster, run_module):
    gluster.replies["pool list"] = fixture("pool_list.xml")
    run = run_module(gluster_peer, peer_args(peers=[L3, L2]))
    assert run.rc == 0
    assert run.result["changed"] is False
    assert gluster.changes == []


def test_peer_self_address_is_skipped(gluster, run_module):
    gluster.load_pool(fixture("pool_list.xml"))
    run = run_module(gluster_peer, peer_args(peers=[L2, L1, L3], self_address=L1, timeout=0))
    assert run.rc == 0
    assert "peer probe %s" % L1 not in gluster.changes
    assert gluster.changes == []


def test_peer_without_self_address_the_local_node_is_probed_and_never_shows(gluster, run_module):
    # The pool lists the local node as 'localhost': that is why self_address is needed.
    gluster.load_pool(fixture("pool_list.xml"))
    run = run_module(gluster_peer, peer_args(self_address=None, timeout=0))
    assert run.failed
    assert gluster.changes == ["peer probe %s" % L1]
    assert run.result["msg"] == "GlusterFS peer(s) not usable after 0 s: %s: not in the pool" % L1


def test_peer_check_mode_probes_nothing_but_reports(gluster, run_module):
    gluster.add_peer(L2)
    run = run_module(gluster_peer, peer_args(), check_mode=True, diff=True)
    assert run.rc == 0
    assert run.result["changed"] is True
    assert run.result["probed"] == [L3]
    assert gluster.changes == []
    assert list(gluster.peers) == [L2]
    assert run.result["diff"] == {"before": {"peers": [L2]}, "after": {"peers": [L2, L3]}}


def test_peer_diff_before_after(gluster, run_module):
    gluster.add_peer(L2)
    run = run_module(gluster_peer, peer_args(), diff=True)
    assert run.result["changed"] is True
    assert run.result["diff"] == {"before": {"peers": [L2]}, "after": {"peers": [L2, L3]}}
    assert "diff" not in run_module(gluster_peer, peer_args()).result


def test_peer_probe_error_names_the_host(gluster, run_module):
    gluster.add_peer(L2)
    gluster.unreachable.add(L3)
    run = run_module(gluster_peer, peer_args())
    assert run.failed
    assert run.result["msg"] == (
        "gluster peer probe %s failed: Probe returned with Transport endpoint is not connected. Check that glusterd "
        "runs on %s and that port 24007 is reachable from this node." % (L3, L3))
    assert run.result["probed"] == [L3]
    assert gluster.changes == ["peer probe %s" % L3]


def test_peer_disconnected_fails_after_timeout_recorded(gluster, run_module, clock):
    gluster.replies["pool list"] = fixture("pool_list_disconnected.xml")
    run = run_module(gluster_peer, peer_args(timeout=0))
    assert run.failed
    assert run.result["msg"] == (
        "GlusterFS peer(s) not usable after 0 s: %s: in the pool but disconnected (state 'Peer in Cluster'): "
        "is glusterd running there, and port 24007 open?" % L2)
    assert L3 not in run.result["msg"]
    assert run.result["probed"] == []
    assert gluster.changes == []
    assert [p["connected"] for p in run.result["peers"]] == [False, True, True]


def test_peer_probed_but_staying_disconnected_fails_after_waiting(gluster, run_module, clock):
    gluster.add_peer(L2)
    gluster.join_disconnected.add(L3)
    run = run_module(gluster_peer, peer_args(timeout=3))
    assert run.failed
    assert run.result["msg"].startswith("GlusterFS peer(s) not usable after 3 s: %s: in the pool but disconnected"
                                        % L3)
    assert L2 + ":" not in run.result["msg"]
    assert run.result["probed"] == [L3]
    assert clock.slept == [1, 1, 1]
    # One read before the probe, then one per second until the deadline.
    assert gluster.calls.count(["gluster", "--mode=script", "pool", "list", "--xml"]) == 5


def test_peer_waits_until_a_probed_peer_connects(gluster, run_module, clock):
    gluster.connect_after[L3] = 3
    gluster.add_peer(L2)
    run = run_module(gluster_peer, peer_args(timeout=60))
    assert run.rc == 0, run.result
    assert run.result["changed"] is True
    assert clock.slept == [1, 1]
    assert [(p["hostname"], p["state"]) for p in run.result["peers"] if p["hostname"] == L3] == [
        (L3, "Peer in Cluster")]


def test_peer_rejected_is_explained(gluster, run_module, clock):
    gluster.add_peer(L2, state="Peer Rejected")
    gluster.add_peer(L3)
    run = run_module(gluster_peer, peer_args(timeout=0))
    assert run.failed
    assert run.result["msg"].startswith("GlusterFS peer(s) not usable after 0 s: %s: state 'Peer Rejected', not "
                                        "'Peer in Cluster' - its glusterd has a different UUID" % L2)
    assert "'Replacing a node'" in run.result["msg"]


def test_peer_absent_detaches_only_known_peers(gluster, run_module):
    gluster.load_pool(fixture("pool_list.xml"))
    args = peer_args(peers=[L1, L3, "swarmdata-lab-9"], state="absent")
    check = run_module(gluster_peer, args, check_mode=True, diff=True)
    assert check.result["changed"] is True
    assert gluster.changes == []
    assert check.result["diff"] == {"before": {"peers": [L2, L3]}, "after": {"peers": [L2]}}

    run = run_module(gluster_peer, args)
    assert run.result["changed"] is True
    assert run.result["probed"] == [L3]
    assert gluster.changes == ["peer detach %s" % L3]
    assert sorted(p["hostname"] for p in run.result["peers"]) == ["localhost", L2]
    assert run_module(gluster_peer, args).result["changed"] is False


def test_peer_glusterd_not_running(gluster, run_module):
    gluster.down = True
    run = run_module(gluster_peer, peer_args())
    assert run.failed
    assert run.result["msg"].startswith("gluster --mode=script pool list failed (rc=1): Connection failed.")
    assert run.result["msg"].endswith("Is glusterd running on this node?")


# ----------------------------------------------------------------------------------------------- gluster_volume

def volume_args(**overrides):
    args = {"name": "swarmdata", "bricks": list(BRICKS3), "replica": 3,
            "options": {"cluster.quorum-type": "auto", "network.ping-timeout": 10}, "granular_entry_heal": False}
    args.update(overrides)
    return args


def volume_calls(fake, *words):
    """argv of the calls that start with 'gluster --mode=script volume WORDS'."""
    n = len(words)
    return [c for c in fake.calls if c[2] == "volume" and tuple(c[3:3 + n]) == words]


@pytest.fixture
def pool3(gluster):
    gluster.load_pool(fixture("pool_list.xml"))
    return gluster


def test_volume_create_set_start_then_idempotent(pool3, run_module, clock):
    run = run_module(gluster_volume, volume_args())
    assert run.rc == 0, run.result
    expected = [
        "volume create swarmdata replica 3 %s %s %s" % (B1, B2, B3),
        "volume set swarmdata cluster.quorum-type auto",
        "volume set swarmdata network.ping-timeout 10",
        "volume start swarmdata",
        "volume heal swarmdata granular-entry-heal disable",
    ]
    assert pool3.changes == expected
    assert run.result["changed"] is True
    assert run.result["actions"] == ["gluster " + c for c in expected]
    # The bricks in the order given, no force; XML for all but 'volume heal'.
    assert volume_calls(pool3, "create") == [["gluster", "--mode=script", "volume", "create", "swarmdata", "replica",
                                              "3", B1, B2, B3, "--xml"]]
    assert volume_calls(pool3, "heal", "swarmdata", "granular-entry-heal") == [
        ["gluster", "--mode=script", "volume", "heal", "swarmdata", "granular-entry-heal", "disable"]]
    vol = run.result["volume"]
    assert vol["started"] is True
    assert (vol["replica"], vol["arbiter"]) == (3, 0)
    assert [b["name"] for b in vol["bricks"]] == BRICKS3
    assert vol["options"]["network.ping-timeout"] == "10"
    assert vol["options"][GRANULAR] == "disable"

    again = run_module(gluster_volume, volume_args())
    assert again.rc == 0
    assert again.result["changed"] is False
    assert again.result["actions"] == []
    assert pool3.changes == expected


def test_volume_create_force_only_when_asked(pool3, run_module):
    run = run_module(gluster_volume, volume_args(force=True, options={}, granular_entry_heal=None))
    assert run.rc == 0
    assert pool3.changes == ["volume create swarmdata replica 3 %s %s %s force" % (B1, B2, B3),
                             "volume start swarmdata"]


def test_volume_two_hosts_replica_2_arbiter_1(gluster, run_module):
    gluster.add_peer(L2)
    bricks = [B1, B2, ARBITER]
    args = volume_args(bricks=bricks, replica=2, arbiter=1, force=True, options={})
    run = run_module(gluster_volume, args)
    assert run.rc == 0, run.result
    assert gluster.changes == [
        "volume create swarmdata replica 3 arbiter 1 %s %s %s force" % (B1, B2, ARBITER),
        "volume start swarmdata",
        "volume heal swarmdata granular-entry-heal disable",
    ]
    vol = run.result["volume"]
    assert (vol["replica"], vol["arbiter"]) == (3, 1)
    assert [(b["name"], b["arbiter"]) for b in vol["bricks"]] == [(B1, False), (B2, False), (ARBITER, True)]

    again = run_module(gluster_volume, args)
    assert again.result["changed"] is False
    assert len(gluster.changes) == 3


def test_volume_two_bricks_on_one_host_without_force_gets_the_hint(gluster, run_module):
    gluster.add_peer(L2)
    run = run_module(gluster_volume, volume_args(bricks=[B1, B2, ARBITER], replica=2, arbiter=1))
    assert run.failed
    assert gluster.changes == ["volume create swarmdata replica 3 arbiter 1 %s %s %s" % (B1, B2, ARBITER)]
    assert run.result["msg"].startswith("gluster volume create swarmdata replica 3 arbiter 1 %s %s %s failed: "
                                        "Multiple bricks of a replicate volume are present on the same server."
                                        % (B1, B2, ARBITER))
    assert run.result["msg"].endswith(". Bricks of one replica set on one host need force=true.")


def test_volume_sets_only_options_that_differ(lab, run_module):
    options = {"cluster.quorum-type": "auto", "network.ping-timeout": 20, "performance.cache-size": "64MB",
               "auth.allow": "127.0.0.1,172.20.0.2,172.20.0.3,172.20.0.4"}
    run = run_module(gluster_volume, volume_args(options=options), diff=True)
    assert run.rc == 0, run.result
    assert lab.changes == ["volume set swarmdata network.ping-timeout 20",
                           "volume set swarmdata performance.cache-size 64MB"]
    assert run.result["diff"]["before"]["options"] == {
        "auth.allow": "127.0.0.1,172.20.0.2,172.20.0.3,172.20.0.4", GRANULAR: "disable",
        "cluster.quorum-type": "auto", "network.ping-timeout": "10", "performance.cache-size": None}
    assert run.result["diff"]["after"]["options"] == {
        "auth.allow": "127.0.0.1,172.20.0.2,172.20.0.3,172.20.0.4", GRANULAR: "disable",
        "cluster.quorum-type": "auto", "network.ping-timeout": "20", "performance.cache-size": "64MB"}
    assert run.result["diff"]["before"]["bricks"] == BRICKS3


def test_volume_granular_on_is_disabled_once(gluster, run_module):
    gluster.load_pool(fixture("pool_list.xml"))
    gluster.load_volume(fixture("volume_info.xml"))
    # The recorded answer itself, showing cluster.granular-entry-heal 'on'.
    gluster.replies["volume info swarmdata"] = fixture("volume_info.xml")
    gluster.replies["volume status swarmdata"] = fixture("volume_status.xml")
    run = run_module(gluster_volume, volume_args(options={"cluster.quorum-type": "auto"}))
    assert run.rc == 0, run.result
    assert gluster.changes == ["volume heal swarmdata granular-entry-heal disable"]
    assert volume_calls(gluster, "heal") == [
        ["gluster", "--mode=script", "volume", "heal", "swarmdata", "granular-entry-heal", "disable"]]
    assert run.result["actions"] == ["gluster volume heal swarmdata granular-entry-heal disable"]

    # Now the volume's info shows 'disable': not run again.
    del gluster.replies["volume info swarmdata"]
    assert gluster.volumes["swarmdata"]["options"][GRANULAR] == "disable"
    again = run_module(gluster_volume, volume_args(options={"cluster.quorum-type": "auto"}))
    assert again.result["changed"] is False
    assert gluster.changes == ["volume heal swarmdata granular-entry-heal disable"]


def test_volume_granular_disable_recorded_is_left_alone(lab, run_module):
    lab.replies["volume info swarmdata"] = fixture("volume_info_granular_off.xml")
    run = run_module(gluster_volume, volume_args(options={}))
    assert run.rc == 0
    assert run.result["changed"] is False
    assert lab.changes == []


@pytest.mark.parametrize("wanted, expected", [
    (True, ["volume heal swarmdata granular-entry-heal enable"]),
    (None, []),
])
def test_volume_granular_enable_or_unset(lab, run_module, wanted, expected):
    run = run_module(gluster_volume, volume_args(options={}, granular_entry_heal=wanted))
    assert run.rc == 0
    assert lab.changes == expected


def test_volume_different_bricks_fails_and_changes_nothing(lab, run_module):
    b4 = "swarmdata-lab-4:" + PATH
    run = run_module(gluster_volume, volume_args(bricks=[B1, B2, b4], options={"network.ping-timeout": 20}))
    assert run.failed
    assert run.result["msg"] == (
        "volume swarmdata exists with a different layout: bricks {b1}, {b2}, {b3} (asked: {b1}, {b2}, {b4}); add "
        "bricks with `gluster volume add-brick swarmdata replica 3 {b4}` (in whole replica sets); move data off a "
        "brick with `gluster volume replace-brick swarmdata OLD NEW commit force` or `remove-brick ... start` then "
        "`commit`. This module does not re-lay out an existing volume (that moves data); change it by hand as said, "
        "or change the inventory to match. Nothing was changed.".format(b1=B1, b2=B2, b3=B3, b4=b4))
    assert lab.changes == []
    assert lab.volumes["swarmdata"]["options"]["network.ping-timeout"] == "10"


def test_volume_different_replica_fails_and_changes_nothing(gluster, run_module):
    gluster.load_pool(fixture("pool_list.xml"))
    gluster.add_volume("swarmdata", [B1, B2], replica=2)
    run = run_module(gluster_volume, volume_args())
    assert run.failed
    msg = run.result["msg"]
    assert msg.startswith("volume swarmdata exists with a different layout: replica 2 (asked: 3); bricks %s, %s "
                          "(asked: %s, %s, %s)" % (B1, B2, B1, B2, B3))
    assert "`gluster volume add-brick swarmdata replica 3 %s`" % B3 in msg
    assert "replace-brick" not in msg
    assert msg.endswith("Nothing was changed.")
    assert gluster.changes == []


def test_volume_different_arbiter_fails(lab, run_module):
    run = run_module(gluster_volume, volume_args(replica=2, arbiter=1, force=True))
    assert run.failed
    assert run.result["msg"].startswith("volume swarmdata exists with a different layout: arbiter 0 (asked: 1). "
                                        "This module does not re-lay out")
    assert lab.changes == []


def test_volume_bricks_in_another_order_fails(lab, run_module):
    run = run_module(gluster_volume, volume_args(bricks=[B2, B1, B3]))
    assert run.failed
    assert "the same bricks are in another order; keep the volume's order in the inventory" in run.result["msg"]
    assert "add-brick" not in run.result["msg"]
    assert lab.changes == []


@pytest.mark.parametrize("overrides, message", [
    ({"replica": 2, "bricks": [B1, B2]},
     "replica 2 without an arbiter splits brain; use replica 3, or replica 2 with arbiter 1 and a third brick"),
    ({"bricks": [B1, L2, B3]}, "bricks[1]: brick %r is not host:/absolute/path" % L2),
    ({"bricks": [B1, B2, "swarmdata-lab-3:brick"]},
     "bricks[2]: brick 'swarmdata-lab-3:brick' is not host:/absolute/path"),
    ({"bricks": [B1, B2, B1]}, "bricks lists a brick twice: %s, %s, %s" % (B1, B2, B1)),
    ({"replica": 1}, "replica must be at least 2 for a replicated volume, got 1"),
    ({"bricks": [B1, B2, B3, "swarmdata-lab-4:" + PATH]}, "4 bricks is not a multiple of replica 3 + arbiter 0"),
], ids=["replica-2-no-arbiter", "brick-no-path", "brick-relative", "brick-twice", "replica-1", "not-multiple"])
def test_volume_bad_parameters_refused_before_any_command(gluster, run_module, overrides, message):
    run = run_module(gluster_volume, volume_args(**overrides))
    assert run.failed
    assert run.result["msg"] == message
    assert gluster.calls == []


def test_volume_root_partition_hint(pool3, run_module):
    pool3.create_error = fixture("volume_create_root_partition.xml")
    run = run_module(gluster_volume, volume_args())
    assert run.failed
    create = "volume create swarmdata replica 3 %s %s %s" % (B1, B2, B3)
    assert pool3.changes == [create]
    assert run.result["actions"] == ["gluster " + create]
    msg = run.result["msg"]
    assert msg.startswith("gluster %s failed: The brick swarmdata-lab-1:/srv/other is being created in the root "
                          "partition." % create)
    assert msg.endswith(". Put a separate filesystem under the brick directory (recommended), or set force=true "
                        "(role variable glusterfs_brick_force) to accept bricks on the root filesystem.")


def test_volume_create_with_a_peer_down_fails_with_glusters_words(pool3, run_module):
    pool3.peers[L2]["connected"] = False
    run = run_module(gluster_volume, volume_args())
    assert run.failed
    assert run.result["msg"] == "gluster volume create swarmdata replica 3 %s %s %s failed: Host %s not connected" % (
        B1, B2, B3, L2)
    assert "swarmdata" not in pool3.volumes


def test_volume_check_mode_new_volume(pool3, run_module):
    run = run_module(gluster_volume, volume_args(), check_mode=True, diff=True)
    assert run.rc == 0, run.result
    assert pool3.changes == []
    assert pool3.volumes == {}
    assert run.result["changed"] is True
    assert run.result["actions"] == [
        "gluster volume create swarmdata replica 3 %s %s %s" % (B1, B2, B3),
        "gluster volume set swarmdata cluster.quorum-type auto",
        "gluster volume set swarmdata network.ping-timeout 10",
        "gluster volume start swarmdata",
        "gluster volume heal swarmdata granular-entry-heal disable",
    ]
    assert run.result["diff"] == {
        "before": {},
        "after": {"name": "swarmdata", "started": True, "replica": 3, "arbiter": 0, "bricks": BRICKS3,
                  "options": {"cluster.quorum-type": "auto", "network.ping-timeout": "10", GRANULAR: "disable"}},
    }


def test_volume_check_mode_existing_volume(lab, run_module):
    lab.volumes["swarmdata"]["online"].discard(B2)
    run = run_module(gluster_volume, volume_args(options={"network.ping-timeout": 30}), check_mode=True)
    assert run.rc == 0
    assert lab.changes == []
    assert run.result["actions"] == ["gluster volume set swarmdata network.ping-timeout 30",
                                     "gluster volume start swarmdata force", "gluster volume heal swarmdata"]
    assert run.result["volume"]["options"]["network.ping-timeout"] == "30"
    assert B2 not in lab.volumes["swarmdata"]["online"]


def test_volume_state_present_creates_without_starting(pool3, run_module):
    run = run_module(gluster_volume, volume_args(state="present", options={}))
    assert run.rc == 0
    assert pool3.changes == ["volume create swarmdata replica 3 %s %s %s" % (B1, B2, B3)]
    assert run.result["volume"]["started"] is False


def test_volume_stopped_volume_is_started(lab, run_module):
    lab.volumes["swarmdata"].update(started=False, online=set())
    run = run_module(gluster_volume, volume_args(options={}))
    assert run.rc == 0
    assert lab.changes == ["volume start swarmdata"]
    assert run.result["volume"]["started"] is True


def test_volume_offline_brick_on_connected_host_is_restarted_and_healed(lab, run_module, clock, warnings):
    lab.volumes["swarmdata"]["online"].discard(B2)
    run = run_module(gluster_volume, volume_args(options={}))
    assert run.rc == 0, run.result
    assert lab.changes == ["volume start swarmdata force", "volume heal swarmdata"]
    assert run.result["actions"] == ["gluster volume start swarmdata force", "gluster volume heal swarmdata"]
    assert volume_calls(lab, "start") == [["gluster", "--mode=script", "volume", "start", "swarmdata", "force",
                                           "--xml"]]
    assert volume_calls(lab, "heal") == [
        ["gluster", "--mode=script", "volume", "heal", "swarmdata", "info", "--xml"],
        ["gluster", "--mode=script", "volume", "heal", "swarmdata"],
    ]
    # The heal comes after the restart, once the heal client reaches the brick.
    calls = [" ".join(c[2:]) for c in lab.calls]
    assert calls.index("volume start swarmdata force --xml") < calls.index("volume heal swarmdata info --xml") < \
        calls.index("volume heal swarmdata")
    assert B2 in lab.volumes["swarmdata"]["online"]
    assert run.result["changed"] is True
    assert warnings == []


def test_volume_offline_brick_on_disconnected_host_is_left_alone(lab, run_module):
    lab.peers[L2]["connected"] = False
    lab.volumes["swarmdata"]["online"].discard(B2)
    run = run_module(gluster_volume, volume_args(options={}))
    assert run.rc == 0, run.result
    assert run.result["changed"] is False
    assert lab.changes == []


def test_volume_lab_2_stopped_recorded_is_left_alone(lab, run_module):
    lab.replies.update({"pool list": fixture("pool_list_disconnected.xml"),
                        "volume info swarmdata": fixture("volume_info_granular_off.xml"),
                        "volume status swarmdata": fixture("volume_status_brick_down.xml")})
    run = run_module(gluster_volume, volume_args(options={}))
    assert run.rc == 0, run.result
    assert run.result["changed"] is False
    assert lab.changes == []


def test_volume_brick_down_with_its_host_up_recorded_status(lab, run_module, clock):
    # The recorded status without lab-2's brick, while the (recorded) pool has lab-2 connected.
    lab.replies.update({"pool list": fixture("pool_list.xml"),
                        "volume status swarmdata": fixture("volume_status_brick_down.xml")})
    run = run_module(gluster_volume, volume_args(options={}, wait_timeout=0))
    # The status stays as recorded, so the brick never shows online.
    assert run.failed
    assert lab.changes == ["volume start swarmdata force"]
    assert run.result["msg"].startswith("brick(s) %s still offline 0 s after 'gluster volume start swarmdata force'."
                                        % B2)


def test_volume_brick_that_stays_down_fails_naming_it(lab, run_module, clock):
    lab.volumes["swarmdata"]["online"].discard(B3)
    lab.stuck_bricks.add(B3)
    run = run_module(gluster_volume, volume_args(options={}, wait_timeout=2))
    assert run.failed
    msg = run.result["msg"]
    assert msg.startswith("brick(s) %s still offline 2 s after 'gluster volume start swarmdata force'." % B3)
    assert msg.endswith("Nothing was removed.")
    assert lab.changes == ["volume start swarmdata force"]
    assert clock.slept == [1, 1]


def test_volume_start_offline_bricks_false(lab, run_module):
    lab.volumes["swarmdata"]["online"].discard(B2)
    run = run_module(gluster_volume, volume_args(options={}, start_offline_bricks=False))
    assert run.result["changed"] is False
    assert lab.changes == []


def test_volume_plain_heal_refused_is_retried_then_only_warned(lab, run_module, clock, warnings):
    lab.volumes["swarmdata"]["online"].discard(B2)
    lab.heal_rc = [1] * 10
    run = run_module(gluster_volume, volume_args(options={}))
    assert run.rc == 0, run.result
    assert lab.changes == ["volume start swarmdata force"] + ["volume heal swarmdata"] * 10
    [warning] = warnings
    assert warning.startswith("gluster --mode=script volume heal swarmdata failed (rc=1): Launching heal operation")
    assert "'gluster volume heal swarmdata info'" in warning
    assert clock.slept in ([2] * 9, [2] * 10)


def test_volume_plain_heal_retried_until_accepted(lab, run_module, clock, warnings):
    lab.volumes["swarmdata"]["online"].discard(B2)
    lab.heal_rc = [1, 1]
    run = run_module(gluster_volume, volume_args(options={}))
    assert run.rc == 0
    assert lab.changes.count("volume heal swarmdata") == 3
    assert clock.slept == [2, 2]
    assert warnings == []


def test_volume_granular_heal_refused_fails(lab, run_module, clock):
    lab.volumes["swarmdata"]["options"][GRANULAR] = "on"
    lab.heal_rc = [1] * 10
    run = run_module(gluster_volume, volume_args(options={}))
    assert run.failed
    assert run.result["msg"].startswith("gluster --mode=script volume heal swarmdata granular-entry-heal disable "
                                        "failed (rc=1): Launching heal operation")
    assert lab.changes == ["volume heal swarmdata granular-entry-heal disable"] * 10


def test_volume_glusterd_not_running(gluster, run_module):
    gluster.down = True
    run = run_module(gluster_volume, volume_args())
    assert run.failed
    assert run.result["msg"].startswith("gluster --mode=script volume info swarmdata failed (rc=1): Connection "
                                        "failed.")
    assert gluster.changes == []


# ------------------------------------------------------------------------------------------ gluster_volume_info

def test_info_missing_volume(pool3, run_module):
    run = run_module(gluster_volume_info, {"name": "swarmdata"})
    assert run.rc == 0
    assert run.result["changed"] is False
    assert run.result["exists"] is False
    assert run.result["volume"] == {}
    assert run.result["bricks"] == []
    assert run.result["heal_pending"] is None
    assert run.result["heal_by_namespace"] == {}
    assert run.result["peers"] == parse_pool(fixture("pool_list.xml"))
    assert pool3.changes == []


def test_info_recorded_pending_with_an_unreachable_brick(lab, run_module):
    lab.replies.update({"volume info swarmdata": fixture("volume_info.xml"),
                        "volume status swarmdata": fixture("volume_status.xml"),
                        "volume heal swarmdata info": fixture("heal_info_pending.xml")})
    run = run_module(gluster_volume_info, {"name": "swarmdata"}, check_mode=True)
    assert run.rc == 0
    assert run.result["exists"] is True
    assert run.result["volume"]["id"] == "a748f5c1-6ac9-4ba8-98d6-76e3345066c8"
    # One brick cannot be reached: the total is unknown, not 10.
    assert run.result["heal_pending"] is None
    assert run.result["heal_by_namespace"] == {"/": 2, "wiki": 8}
    bricks = run.result["bricks"]
    assert [b["name"] for b in bricks] == BRICKS3
    assert [b["heal_pending"] for b in bricks] == [5, 5, None]
    assert [b["heal_status"] for b in bricks] == ["Connected", "Connected", "Transport endpoint is not connected"]
    assert [b["online"] for b in bricks] == [True, True, True]
    assert [(b["pid"], b["port"]) for b in bricks] == [(758, 51053), (702, 59960), (694, 53772)]
    assert bricks[0]["heal_by_namespace"] == {"/": 1, "wiki": 4}
    assert bricks[2]["heal_by_namespace"] == {}
    assert lab.changes == []


def test_info_recorded_clean(lab, run_module):
    lab.replies.update({"volume info swarmdata": fixture("volume_info.xml"),
                        "volume status swarmdata": fixture("volume_status.xml"),
                        "volume heal swarmdata info": fixture("heal_info.xml")})
    run = run_module(gluster_volume_info, {"name": "swarmdata"})
    assert run.result["heal_pending"] == 0
    assert run.result["heal_by_namespace"] == {}
    assert [b["heal_pending"] for b in run.result["bricks"]] == [0, 0, 0]


def test_info_pending_summed_over_bricks(lab, run_module):
    lab.pending = {B1: ["/wiki/a", "/wiki", "/db/x/y"], B2: ["/wiki/a"], B3: []}
    run = run_module(gluster_volume_info, {"name": "swarmdata"})
    assert run.rc == 0
    assert run.result["heal_pending"] == 4
    assert run.result["heal_by_namespace"] == {"wiki": 3, "db": 1}
    assert [b["heal_pending"] for b in run.result["bricks"]] == [3, 1, 0]


def test_info_brick_host_down(lab, run_module):
    lab.peers[L2]["connected"] = False
    lab.volumes["swarmdata"]["online"].discard(B2)
    lab.pending = {B1: ["/wiki/a"], B3: ["/wiki/a"]}
    run = run_module(gluster_volume_info, {"name": "swarmdata"})
    assert run.result["heal_pending"] is None
    assert run.result["heal_by_namespace"] == {"wiki": 2}
    bricks = run.result["bricks"]
    assert [(b["online"], b["heal_pending"]) for b in bricks] == [(True, 1), (False, None), (True, 1)]
    assert bricks[1]["pid"] is None and bricks[1]["port"] is None
    assert [p["connected"] for p in run.result["peers"] if p["hostname"] == L2] == [False]


def test_info_stopped_volume_reads_no_heal_info(lab, run_module):
    lab.volumes["swarmdata"].update(started=False, online=set())
    run = run_module(gluster_volume_info, {"name": "swarmdata"})
    assert run.rc == 0
    assert run.result["exists"] is True
    assert run.result["volume"]["started"] is False
    assert run.result["heal_pending"] is None
    assert [b["online"] for b in run.result["bricks"]] == [False, False, False]
    assert volume_calls(lab, "heal") == []


def test_info_glusterd_not_running(gluster, run_module):
    gluster.down = True
    run = run_module(gluster_volume_info, {"name": "swarmdata"})
    assert run.failed
    assert run.result["msg"].startswith("gluster --mode=script pool list failed (rc=1): Connection failed.")


def test_peer_listed_twice_is_probed_once(gluster, run_module):
    run = run_module(gluster_peer, peer_args(peers=[L2, L2, L3]))
    assert run.rc == 0, run.result
    assert run.result["probed"] == [L2, L3]
    assert gluster.changes == ["peer probe %s" % L2, "peer probe %s" % L3]


def test_volume_arbiter_needs_replica_2(gluster, run_module):
    run = run_module(gluster_volume, volume_args(replica=3, arbiter=1, bricks=list(BRICKS3) + ["x:/b"]))
    assert run.failed and "an arbiter goes with replica 2" in run.result["msg"]
    assert gluster.changes == []
