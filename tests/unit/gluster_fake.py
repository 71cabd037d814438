# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fake, stateful `gluster` CLI and the fixtures shared by test_gluster_peer.py, test_gluster_volume.py
and test_gluster_volume_info.py.

The fake answers the argv the modules pass to ``AnsibleModule.run_command`` with XML laid out like the answers
recorded from GlusterFS 10.3 (tests/unit/fixtures/gluster); each test file checks part of it against those
recordings. Where a scenario was recorded, the recorded answer itself is served.

A test file takes the fixtures by importing them (``clock`` is autouse: no module under test really sleeps).
"""

import itertools
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import parse_pool, parse_volume_info
from ansible_collections.swarmdata.replication.plugins.modules import gluster_peer, gluster_volume

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
        self.used_bricks = set()  # brick directories that still carry a volume's attributes (removed bricks)
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
                   ("volume", "start"): self.start, ("volume", "add-brick"): self.add_brick,
                   ("volume", "remove-brick"): self.remove_brick}[tuple(args[:2])]
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

    def add_brick(self, name, *args):
        """'volume add-brick NAME replica N BRICK... [force]' for one replica set made wider, as GlusterFS 10 has it."""
        args = list(args)
        force = args[-1:] == ["force"]
        if force:
            args.pop()
        v = self.volumes[name]
        assert args[0] == "replica" and int(args[1]) == len(v["bricks"]) + len(args[2:]), args
        for brick in args[2:]:
            host = brick.rpartition(":")[0]
            if self.uuid(host) is None:
                return error_xml("Host %s is not in 'Peer in Cluster' state" % host)
            if brick in self.used_bricks:
                return error_xml("%s is already part of a volume" % brick.rpartition(":")[2])
        v["replica"] = int(args[1])
        v["bricks"] += [{"name": b, "host": b.rpartition(":")[0], "arbiter": False} for b in args[2:]]
        v["online"] |= set(b for b in args[2:] if v["started"] and self.connected(b.rpartition(":")[0]))
        return ok_xml("  <volAddBrick>Add Brick successful</volAddBrick>\n")

    def remove_brick(self, name, *args):
        """'volume remove-brick NAME replica N BRICK... force': the bricks leave; their files stay on their disks."""
        args = list(args)
        assert args[0] == "replica" and args[-1] == "force", args
        gone = args[2:-1]
        v = self.volumes[name]
        assert int(args[1]) == len(v["bricks"]) - len(gone), args
        v["replica"] = int(args[1])
        v["bricks"] = [b for b in v["bricks"] if b["name"] not in gone]
        v["online"] -= set(gone)
        self.used_bricks |= set(gone)
        return ok_xml("  <volRemoveBrick>Remove Brick commit force successful</volRemoveBrick>\n")

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
        if args == ["full"]:
            return 0, ("Launching heal operation to perform full self heal on volume %s has been successful \n"
                       "Use heal info commands to check status\n" % name), ""
        assert args == [], args
        return 0, ("Launching heal operation to perform index self heal on volume %s has been successful \n"
                   "Use heal info commands to check status.\n" % name), ""


def volume_calls(fake, *words):
    """argv of the calls that start with 'gluster --mode=script volume WORDS'."""
    n = len(words)
    return [c for c in fake.calls if c[2] == "volume" and tuple(c[3:3 + n]) == words]


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


@pytest.fixture(name="gluster")
def gluster_fixture(monkeypatch):
    fake = FakeGluster()
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, args, **kwargs: fake(args))
    return fake


@pytest.fixture(name="lab")
def lab_fixture(gluster):
    """The lab as recorded: pool_list.xml, volume 'swarmdata' as in volume_info_granular_off.xml."""
    gluster.load_pool(fixture("pool_list.xml"))
    gluster.load_volume(fixture("volume_info_granular_off.xml"))
    return gluster


@pytest.fixture(autouse=True, name="clock")
def clock_fixture(monkeypatch):
    """No test here really sleeps: the modules' ``time`` is a FakeClock."""
    fake = FakeClock()
    monkeypatch.setattr(gluster_peer, "time", fake)
    monkeypatch.setattr(gluster_volume, "time", fake)
    return fake


@pytest.fixture(name="warnings")
def warnings_fixture(monkeypatch):
    """What the module passes to AnsibleModule.warn (in-process, Ansible hands it to the controller's Display)."""
    seen = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: seen.append(warning))
    return seen


@pytest.fixture(name="pool3")
def pool3_fixture(gluster):
    """The recorded three-node pool (pool_list.xml), no volume yet."""
    gluster.load_pool(fixture("pool_list.xml"))
    return gluster
