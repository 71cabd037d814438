# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gluster_volume_info in-process against the fake gluster CLI (gluster_fake.py): volume, bricks, heal, peers."""

from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import (
    parse_pool,
    parse_volume_info,
    parse_volume_status,
)
from ansible_collections.swarmdata.replication.plugins.modules import gluster_volume_info
from gluster_fake import B1, B2, B3, BRICKS3, L2, L3, LOCAL_UUID, fixture, volume_calls
from gluster_fake import (  # noqa: F401 - pytest fixtures, found by their names  # pylint: disable=unused-import
    clock_fixture, gluster_fixture, lab_fixture, pool3_fixture,
)


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
