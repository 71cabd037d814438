#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gluster_volume
author: swarmdata.replication maintainers (@swarmdata)
short_description: Create, tune and start a replicated GlusterFS volume, never re-laying out an existing one
version_added: 0.2.0
description:
  - Creates the volume from O(bricks) with O(replica) (and O(arbiter)) if it does not exist, sets O(options),
    and starts it.
  - An existing volume whose bricks, replica or arbiter count differ from what is asked is never changed;
    the module fails and says what differs and which C(gluster) commands change it, because moving or
    removing bricks moves data. The one exception is O(change_replica), one replica set grown or shrunk at its end.
  - With O(start_offline_bricks=true), a started volume with a brick down on a connected peer is started again
    with C(force), which restarts only the brick processes that are down, and the self-heal is started once
    they are back. A brick whose host is down is left alone.
  - Reads the volume with C(gluster volume info --xml) and C(gluster volume status --xml).
  - Runs on one node of the trusted storage pool.
extends_documentation_fragment:
  - swarmdata.replication.common.ATTRIBUTES
options:
  name:
    description: Volume name.
    type: str
    required: true
  bricks:
    description: Bricks as C(host:/absolute/path), in replica-set order (an arbiter brick last in its set).
    type: list
    elements: str
    required: true
  replica:
    description: Data copies of each file, the arbiter not counted (2 with O(arbiter=1) is C(replica 3 arbiter 1)).
    type: int
    required: true
  arbiter:
    description: Arbiter bricks per replica set (0 or 1).
    type: int
    default: 0
    choices: [0, 1]
  options:
    description: Volume options to set, as option name to value. Options not listed are left as they are.
    type: dict
    default: {}
  state:
    description: V(started) creates and starts the volume; V(present) creates it without starting it.
    type: str
    choices: [started, present]
    default: started
  force:
    description:
      - Pass C(force) to C(gluster volume create), which GlusterFS needs for a brick on the root filesystem
        or for two bricks of one replica set on the same host (the arbiter layout on two hosts).
    type: bool
    default: false
  start_offline_bricks:
    description:
      - Restart brick processes that are down on connected peers, wait until they are online, then start the
        self-heal of what they missed (C(gluster volume heal)).
    type: bool
    default: true
  granular_entry_heal:
    description:
      - Turn GlusterFS's granular entry self-heal on or off (it is set with C(gluster volume heal), not
        C(gluster volume set)). Unset leaves it as it is.
      - With it off, a directory marked for healing is healed whole, which is what refills a brick replaced
        at the same path; with it on, only the names recorded since the brick went down are.
    type: bool
  change_replica:
    description:
      - Let a volume of one replica set without an arbiter grow or shrink when the bricks asked are the volume's
        with some added at the end, or with some taken out, and O(replica) is their number (a host added to or
        removed from a cluster where every host holds a full copy).
      - Grown with C(gluster volume add-brick NAME replica N BRICKS), then C(gluster volume heal NAME full), which
        copies every file to the new bricks (a full heal the self-heal daemon refuses is a warning with the command);
        shrunk with C(gluster volume remove-brick NAME replica N BRICKS force), which leaves the removed bricks'
        files on their disks, and only while every brick that stays is online and no heal is pending, so the brick
        removed never holds the only up-to-date copy of a file. Every other difference is refused as without it.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for restarted bricks to come online.
    type: int
    default: 120
requirements:
  - The C(gluster) command (Debian package C(glusterfs-server)) and a running C(glusterd).
"""

EXAMPLES = r"""
- name: A replica 3 volume over three nodes, client quorum on, only the nodes may mount it
  swarmdata.replication.gluster_volume:
    name: swarmdata
    bricks:
      - node1:/srv/brick/swarmdata
      - node2:/srv/brick/swarmdata
      - node3:/srv/brick/swarmdata
    replica: 3
    options:
      cluster.quorum-type: auto
      auth.allow: 10.0.0.1,10.0.0.2,10.0.0.3
  run_once: true
"""

RETURN = r"""
volume:
  description: The volume after the run (what it would be, in check mode), as C(gluster volume info) has it.
  returned: always
  type: dict
  sample: {"name": "swarmdata", "started": true, "replica": 3, "arbiter": 0,
           "bricks": [{"name": "node1:/srv/brick/swarmdata", "host": "node1", "path": "/srv/brick/swarmdata"}],
           "options": {"cluster.quorum-type": "auto"}}
actions:
  description: The gluster commands run (or that would run, in check mode), in order.
  returned: always
  type: list
  elements: str
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import (
    GlusterError,
    op_error,
    parse_heal_info,
    parse_pool,
    parse_volume_info,
    parse_volume_status,
    run_gluster,
    split_brick,
)


GRANULAR = "cluster.granular-entry-heal"


def brick_entry(brick):
    """A brick as 'volume info' lists it (host, path, name), from its 'host:/path' name."""
    host, path = split_brick(brick)
    return dict(host=host, path=path, name=brick)


class Volume(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.actions = []

    def gluster(self, *args):
        return run_gluster(self.module, *args, actions=self.actions)

    def act(self, *args):
        """Run a changing gluster command (recorded; skipped in check mode); fail with its error."""
        self.actions.append("gluster volume " + " ".join(args))
        if self.module.check_mode:
            return
        if args[0] == "heal":
            # 'volume heal' has no XML form: it prints text and says how it went in its exit code.
            # A self-heal daemon that has just started may refuse it for a few seconds: try again.
            argv = ["gluster", "--mode=script", "volume"] + list(args)
            for attempt in range(10):
                if attempt:
                    time.sleep(2)
                rc, out, err = self.module.run_command(argv)
                if rc == 0:
                    return
            if len(args) == 2 or args[2:] == ("full",):
                # A plain heal only hurries the daemons, which heal a brick that comes back by themselves; a full
                # heal that the daemon refused now (just started) is said, with the command to run it again.
                said = "%s failed (rc=%d): %s; " % (" ".join(argv), rc, (err or out).strip())
                if len(args) == 2:
                    self.module.warn(said + "the self-heal daemons heal on their own, check with 'gluster volume "
                                            "heal %s info'" % args[1])
                else:
                    self.module.warn(said + "run 'gluster volume heal %s full' once the self-heal daemons are up, so "
                                            "that every file reaches the new brick(s)" % args[1])
                return
            self.module.fail_json(msg="%s failed (rc=%d): %s" % (" ".join(argv), rc, (err or out).strip()),
                                  actions=self.actions)
            return
        error = op_error(self.gluster("volume", *args))
        if error is not None:
            self.module.fail_json(msg="gluster volume %s failed: %s%s" % (" ".join(args), error, self.hint(error)),
                                  actions=self.actions)

    def hint(self, error):
        if "root partition" in error:
            return (". Put a separate filesystem under the brick directory (recommended), or set force=true "
                    "(role variable glusterfs_brick_force) to accept bricks on the root filesystem.")
        if "same server" in error or "same host" in error:
            return ". Bricks of one replica set on one host need force=true."
        if "already part of a volume" in error:
            return (". That brick directory still carries another volume's extended attributes; empty it or "
                    "choose another path. Nothing was removed.")
        return ""

    def info(self):
        try:
            return parse_volume_info(self.gluster("volume", "info", self.p["name"])).get(self.p["name"])
        except GlusterError as exc:
            self.module.fail_json(msg=str(exc))

    def validate(self):
        bricks = self.p["bricks"]
        for i, brick in enumerate(bricks):
            try:
                split_brick(brick)
            except GlusterError as exc:
                self.module.fail_json(msg="bricks[%d]: %s" % (i, exc))
        if len(set(bricks)) != len(bricks):
            self.module.fail_json(msg="bricks lists a brick twice: %s" % ", ".join(bricks))
        if self.p["replica"] < 2:
            self.module.fail_json(msg="replica must be at least 2 for a replicated volume, got %d" % self.p["replica"])
        if self.p["replica"] == 2 and not self.p["arbiter"]:
            self.module.fail_json(msg="replica 2 without an arbiter splits brain; use replica 3, or replica 2 with "
                                      "arbiter 1 and a third brick")
        if self.p["arbiter"] and self.p["replica"] != 2:
            self.module.fail_json(msg="an arbiter goes with replica 2 (2 data bricks + 1 arbiter per set), got "
                                      "replica %d" % self.p["replica"])
        width = self.p["replica"] + self.p["arbiter"]
        if len(bricks) % width:
            self.module.fail_json(msg="%d bricks is not a multiple of replica %d + arbiter %d"
                                      % (len(bricks), self.p["replica"], self.p["arbiter"]))

    def compare_layout(self, current):
        wanted = self.p["bricks"]
        have = [b["name"] for b in current["bricks"]]
        problems = []
        # gluster counts the arbiter in replicaCount ('replica 3 arbiter 1' is 2 data bricks + 1 arbiter).
        if current["replica"] != self.p["replica"] + self.p["arbiter"]:
            problems.append("replica %d (asked: %d)" % (current["replica"] - current["arbiter"], self.p["replica"]))
        if current["arbiter"] != self.p["arbiter"]:
            problems.append("arbiter %d (asked: %d)" % (current["arbiter"], self.p["arbiter"]))
        if have != wanted:
            extra = [b for b in wanted if b not in have]
            gone = [b for b in have if b not in wanted]
            steps = []
            if extra:
                steps.append("add bricks with `gluster volume add-brick %s replica %d %s` (in whole replica sets)"
                             % (self.p["name"], self.p["replica"], " ".join(extra)))
            if gone:
                steps.append("move data off a brick with `gluster volume replace-brick %s OLD NEW commit force` "
                             "or `remove-brick ... start` then `commit`" % self.p["name"])
            if not extra and not gone:
                steps.append("the same bricks are in another order; keep the volume's order in the inventory")
            problems.append("bricks %s (asked: %s); %s" % (", ".join(have), ", ".join(wanted), "; ".join(steps)))
        if problems:
            self.module.fail_json(
                msg="volume %s exists with a different layout: %s. This module does not re-lay out an existing "
                    "volume (that moves data); change it by hand as said, or change the inventory to match. "
                    "Nothing was changed." % (self.p["name"], "; ".join(problems)),
                volume=current)

    def change_replica(self, current):
        """The volume after growing or shrinking its one replica set (O(change_replica)), or None if that is not
        the change asked for."""
        have = [b["name"] for b in current["bricks"]]
        wanted = list(self.p["bricks"])
        if (not self.p["change_replica"] or self.p["arbiter"] or current["arbiter"] or have == wanted
                or len(have) != current["replica"] or len(wanted) != self.p["replica"]):
            return None
        name = self.p["name"]
        if len(wanted) > len(have) and wanted[:len(have)] == have:
            added = wanted[len(have):]
            force = ["force"] if self.p["force"] else []
            self.act(*(["add-brick", name, "replica", str(len(wanted))] + added + force))
            # A wider replica set starts empty on its new bricks: a full self-heal copies every file to them.
            self.act("heal", name, "full")
        elif len(wanted) < len(have) and [b for b in have if b in wanted] == wanted:
            gone = [b for b in have if b not in wanted]
            self.check_shrink(current, wanted, gone)
            self.act(*(["remove-brick", name, "replica", str(len(wanted))] + gone + ["force"]))
        else:
            return None
        known = dict((b["name"], b) for b in current["bricks"])
        resized = dict(current, replica=len(wanted), bricks=[
            known.get(b) or dict(brick_entry(b), uuid=None) for b in wanted])
        return resized if self.module.check_mode else self.info()

    def check_shrink(self, current, wanted, gone):
        """A shrink drops bricks from the volume: refuse it unless every brick that stays is online and no brick has a
        heal pending, so a brick holding the only up-to-date copy of a file is never the one dropped."""
        name = self.p["name"]
        try:
            status = parse_volume_status(self.gluster("volume", "status", name)) if current["started"] else None
            heal = parse_heal_info(self.gluster("volume", "heal", name, "info")) if current["started"] else []
        except GlusterError as exc:
            self.module.fail_json(msg=str(exc))
        online = set(b["name"] for b in status["bricks"] if b["online"]) if status else set()
        down = [b for b in wanted if b not in online]
        pending = ["%s (%s)" % (h["name"], "unreachable" if h["pending"] is None else "%d entries" % h["pending"])
                   for h in heal if h["name"] in wanted and h["pending"] != 0]
        if down or pending:
            why = (["brick(s) %s are not online" % ", ".join(down)] if down else []) + (
                ["heals are pending on %s" % ", ".join(pending)] if pending else [])
            self.module.fail_json(
                msg="volume %s: not removing %s from the replica set while %s. The brick to remove may hold the only "
                    "up-to-date copy of a file: bring the bricks back and let the self-heal finish (gluster volume "
                    "heal %s info), then run again. Nothing was changed."
                    % (name, ", ".join(gone), "; ".join(why), name),
                volume=current)

    def offline_bricks(self, current):
        """Bricks that are not online although their host's glusterd is connected."""
        try:
            status = parse_volume_status(self.gluster("volume", "status", self.p["name"]))
            pool = parse_pool(self.gluster("pool", "list"))
        except GlusterError as exc:
            self.module.fail_json(msg=str(exc))
        online = set(b["name"] for b in status["bricks"] if b["online"])
        connected = set(p["uuid"] for p in pool if p["connected"])
        return [b["name"] for b in current["bricks"] if b["name"] not in online and b["uuid"] in connected]

    def bring_back(self, down):
        """Restart bricks that are down, wait until they are online and reachable, then start the self-heal."""
        name = self.p["name"]
        self.act("start", name, "force")
        if self.module.check_mode:
            self.actions.append("gluster volume heal %s" % name)
            return
        deadline = time.monotonic() + self.p["wait_timeout"]
        current = self.info()
        while True:
            still = [b for b in self.offline_bricks(current) if b in down]
            if not still:
                break
            if time.monotonic() >= deadline:
                self.module.fail_json(
                    msg="brick(s) %s still offline %d s after 'gluster volume start %s force'. On each brick's host, "
                        "check that the brick directory exists on its own filesystem and carries the volume's "
                        "trusted.glusterfs.volume-id attribute, and read /var/log/glusterfs/bricks/*.log there. "
                        "Nothing was removed." % (", ".join(still), self.p["wait_timeout"], name),
                    actions=self.actions)
            time.sleep(1)
        # Wait until the heal clients reach the restarted bricks, so the heal below sees them.
        while time.monotonic() < deadline:
            try:
                heal = parse_heal_info(self.gluster("volume", "heal", name, "info"))
            except GlusterError:
                heal = []
            if heal and all(h["connected"] for h in heal if h["name"] in down):
                break
            time.sleep(1)
        self.act("heal", name)

    def run(self):
        self.validate()
        name = self.p["name"]
        current = self.info()
        before = self.view(current)
        if current is None:
            args = ["create", name, "replica", str(self.p["replica"] + self.p["arbiter"])]
            if self.p["arbiter"]:
                args += ["arbiter", str(self.p["arbiter"])]
            args += list(self.p["bricks"])
            if self.p["force"]:
                args.append("force")
            self.act(*args)
            options = {}
        else:
            resized = self.change_replica(current)
            if resized is None:
                self.compare_layout(current)
            else:
                current = resized
            options = current["options"]
        for key in sorted(self.p["options"]):
            value = str(self.p["options"][key])
            if options.get(key) != value:
                self.act("set", name, key, value)
        started = current is not None and current["started"]
        if self.p["state"] == "started" and not started:
            self.act("start", name)
        if self.p["state"] == "started" or started:
            self.granular_entry_heal(current)
        if started and self.p["state"] == "started" and self.p["start_offline_bricks"]:
            down = self.offline_bricks(current)
            if down:
                self.bring_back(down)
        after_volume = self.info() if not self.module.check_mode else self.planned(current)
        result = dict(changed=bool(self.actions), volume=after_volume, actions=self.actions)
        if self.module._diff:
            result["diff"] = {"before": before, "after": self.view(after_volume)}
        return result

    def granular_entry_heal(self, current):
        """GlusterFS sets this one through 'volume heal', not 'volume set'."""
        wanted = self.p["granular_entry_heal"]
        if wanted is None:
            return
        value = ((current or {}).get("options") or {}).get(GRANULAR, "on" if current is None else "off")
        if (value in ("on", "enable", "true", "yes", "1")) != wanted:
            self.act("heal", self.p["name"], "granular-entry-heal", "enable" if wanted else "disable")

    def planned(self, current):
        volume = dict(current or {"name": self.p["name"], "replica": self.p["replica"] + self.p["arbiter"],
                                  "arbiter": self.p["arbiter"], "options": {},
                                  "bricks": [brick_entry(b) for b in self.p["bricks"]]})
        volume["options"] = dict(volume.get("options") or {})
        volume["options"].update((k, str(v)) for k, v in self.p["options"].items())
        volume["started"] = self.p["state"] == "started" or bool(current and current.get("started"))
        if self.p["granular_entry_heal"] is not None and volume["started"]:
            # what GlusterFS records after 'volume heal NAME granular-entry-heal enable|disable'
            volume["options"][GRANULAR] = "enable" if self.p["granular_entry_heal"] else "disable"
        return volume

    def view(self, volume):
        if volume is None:
            return {}
        keys = sorted(set(self.p["options"]) | ({GRANULAR} if self.p["granular_entry_heal"] is not None else set()))
        return {"name": volume["name"], "started": volume.get("started", False), "replica": volume["replica"],
                "arbiter": volume["arbiter"], "bricks": [b["name"] for b in volume["bricks"]],
                "options": dict((k, volume["options"].get(k)) for k in keys)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            bricks=dict(type="list", elements="str", required=True),
            replica=dict(type="int", required=True),
            arbiter=dict(type="int", default=0, choices=[0, 1]),
            options=dict(type="dict", default={}),
            state=dict(type="str", choices=["started", "present"], default="started"),
            force=dict(type="bool", default=False),
            start_offline_bricks=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=120),
            granular_entry_heal=dict(type="bool"),
            change_replica=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**Volume(module).run())


if __name__ == "__main__":
    main()
