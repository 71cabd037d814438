# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gluster_peer in-process against the fake gluster CLI (gluster_fake.py): probe, detach, wait, check mode, diff."""

from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import parse_pool
from ansible_collections.swarmdata.replication.plugins.modules import gluster_peer
from gluster_fake import L1, L2, L3, fixture
from gluster_fake import (  # noqa: F401 - pytest fixtures, found by their names  # pylint: disable=unused-import
    clock_fixture, gluster_fixture,
)


def test_fake_pool_list_parses_like_the_recording(gluster):
    gluster.load_pool(fixture("pool_list.xml"))
    assert parse_pool(gluster(["gluster", "--mode=script", "pool", "list", "--xml"])[1]) == \
        parse_pool(fixture("pool_list.xml"))
    gluster.peers[L2]["connected"] = False
    assert parse_pool(gluster(["gluster", "--mode=script", "pool", "list", "--xml"])[1]) == \
        parse_pool(fixture("pool_list_disconnected.xml"))


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


def test_peer_listed_twice_is_probed_once(gluster, run_module):
    run = run_module(gluster_peer, peer_args(peers=[L2, L2, L3]))
    assert run.rc == 0, run.result
    assert run.result["probed"] == [L2, L3]
    assert gluster.changes == ["peer probe %s" % L2, "peer probe %s" % L3]
