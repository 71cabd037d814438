# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gluster_volume in-process against the fake gluster CLI (gluster_fake.py).

Create, options, heal, bricks, check mode.
"""

import pytest
from ansible_collections.swarmdata.replication.plugins.modules import gluster_volume
from gluster_fake import ARBITER, B1, B2, B3, BRICKS3, GRANULAR, L1, L2, L3, PATH, fixture, volume_calls
from gluster_fake import (  # noqa: F401 - pytest fixtures, found by their names  # pylint: disable=unused-import
    clock_fixture, gluster_fixture, lab_fixture, pool3_fixture, warnings_fixture,
)


def test_fake_create_with_lab_2_down_answers_like_the_recording(lab):
    lab.peers[L2]["connected"] = False
    out = lab(["gluster", "--mode=script", "volume", "create", "other", "replica", "3",
               L1 + ":/b", L2 + ":/b", L3 + ":/b", "--xml"])[1]
    assert out == fixture("volume_create_peer_down.xml")


def volume_args(**overrides):
    args = {"name": "swarmdata", "bricks": list(BRICKS3), "replica": 3,
            "options": {"cluster.quorum-type": "auto", "network.ping-timeout": 10}, "granular_entry_heal": False}
    args.update(overrides)
    return args


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


def test_volume_arbiter_needs_replica_2(gluster, run_module):
    run = run_module(gluster_volume, volume_args(replica=3, arbiter=1, bricks=list(BRICKS3) + ["x:/b"]))
    assert run.failed and "an arbiter goes with replica 2" in run.result["msg"]
    assert gluster.changes == []


B4 = "swarmdata-lab-4:" + PATH


def test_change_replica_grows_one_replica_set_by_a_brick_and_heals_it_full(lab, run_module, clock):
    lab.add_peer("swarmdata-lab-4")
    args = volume_args(bricks=BRICKS3 + [B4], replica=4, change_replica=True, force=True)
    check = run_module(gluster_volume, args, check_mode=True, diff=True)
    assert check.rc == 0 and check.result["changed"] is True and lab.changes == []
    assert check.result["diff"]["after"]["bricks"] == BRICKS3 + [B4] and check.result["diff"]["after"]["replica"] == 4
    run = run_module(gluster_volume, args)
    assert run.rc == 0, run.result
    assert lab.changes[:2] == ["volume add-brick swarmdata replica 4 %s force" % B4, "volume heal swarmdata full"]
    assert check.result["actions"] == run.result["actions"]
    assert [b["name"] for b in run.result["volume"]["bricks"]] == BRICKS3 + [B4]
    again = run_module(gluster_volume, args)
    assert again.result["changed"] is False and again.result["actions"] == []


def test_change_replica_shrinks_it_by_the_bricks_left_out(lab, run_module):
    lab.add_peer("swarmdata-lab-4")
    lab.volumes["swarmdata"]["bricks"].append({"name": B4, "host": "swarmdata-lab-4", "arbiter": False})
    lab.volumes["swarmdata"]["replica"] = 4
    run = run_module(gluster_volume, volume_args(change_replica=True))
    assert run.rc == 0, run.result
    assert lab.changes[0] == "volume remove-brick swarmdata replica 3 %s force" % B4
    assert [b["name"] for b in run.result["volume"]["bricks"]] == BRICKS3
    # Put back at once, the brick still carries the volume's attributes: GlusterFS refuses it, with the hint.
    back = run_module(gluster_volume, volume_args(bricks=BRICKS3 + [B4], replica=4, change_replica=True))
    assert back.failed and "is already part of a volume" in back.result["msg"]
    assert "extended attributes" in back.result["msg"] and "Nothing was removed" in back.result["msg"]


@pytest.mark.parametrize("fault", ["a staying brick down", "a heal pending", "a brick unreachable for heal info"])
def test_change_replica_refuses_a_shrink_while_a_brick_is_down_or_a_heal_pending(lab, run_module, fault):
    lab.add_peer("swarmdata-lab-4")
    lab.volumes["swarmdata"]["bricks"].append({"name": B4, "host": "swarmdata-lab-4", "arbiter": False})
    lab.volumes["swarmdata"]["online"].add(B4)
    lab.volumes["swarmdata"]["replica"] = 4
    if fault == "a staying brick down":
        lab.volumes["swarmdata"]["online"].discard(B2)
    elif fault == "a heal pending":
        lab.pending[B1] = ["/wiki/page.txt"]
    else:
        lab.peers[L3]["connected"] = False
    run = run_module(gluster_volume, volume_args(change_replica=True, start_offline_bricks=False))
    assert run.failed and "not removing %s" % B4 in run.result["msg"], run.result
    assert run.result["msg"].endswith("Nothing was changed.")
    assert [c for c in lab.changes if "remove-brick" in c] == []
    assert [b["name"] for b in lab.volumes["swarmdata"]["bricks"]] == BRICKS3 + [B4]


def test_change_replica_a_full_heal_refused_after_the_grow_is_only_warned(lab, run_module, clock, warnings):
    lab.add_peer("swarmdata-lab-4")
    lab.heal_rc = [1] * 10  # the self-heal daemon refuses every try
    run = run_module(gluster_volume, volume_args(bricks=BRICKS3 + [B4], replica=4, change_replica=True))
    assert run.rc == 0, run.result
    assert [b["name"] for b in lab.volumes["swarmdata"]["bricks"]] == BRICKS3 + [B4]
    assert any("gluster volume heal swarmdata full' once the self-heal" in w for w in warnings), warnings


@pytest.mark.parametrize("bricks, replica, why", [
    ([B1, B2, B3, B4], 4, "without change_replica"),
    ([B2, B1, B3, B4], 4, "the volume's bricks in another order"),
    ([B1, B2, B4], 3, "one brick for another"),
    ([B1, B2, B3, B4, "swarmdata-lab-5:" + PATH, "swarmdata-lab-6:" + PATH], 3, "a second replica set"),
])
def test_change_replica_refuses_every_other_change(lab, run_module, bricks, replica, why):
    lab.add_peer("swarmdata-lab-4")
    run = run_module(gluster_volume, volume_args(bricks=bricks, replica=replica,
                                                 change_replica=why != "without change_replica"))
    assert run.failed and "exists with a different layout" in run.result["msg"], why
    assert lab.changes == []
