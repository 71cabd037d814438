#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gluster_volume_info
author: swarmdata.replication maintainers (@swarmdata)
short_description: Peers, bricks and pending self-heal entries of a GlusterFS volume
version_added: 0.2.0
description:
  - Reads the trusted storage pool, the volume's bricks with their online state, and the self-heal
    entries still pending on each brick, counted per namespace (the first directory level of the volume).
  - Changes nothing.
  - Reads C(gluster pool list), C(gluster volume status) and C(gluster volume heal info), all with C(--xml).
extends_documentation_fragment:
  - swarmdata.replication.common.INFO_ATTRIBUTES
options:
  name:
    description: Volume name.
    type: str
    required: true
requirements:
  - The C(gluster) command (Debian package C(glusterfs-server)) and a running C(glusterd).
"""

EXAMPLES = r"""
- name: Wait until no heal entry is pending
  swarmdata.replication.gluster_volume_info:
    name: swarmdata
  register: gv
  until: gv.heal_pending == 0
  retries: 60
  delay: 5
"""

RETURN = r"""
exists:
  description: Whether the volume exists.
  returned: always
  type: bool
peers:
  description: The pool as C(gluster pool list) shows it, the local node included (C(self=true)).
  returned: always
  type: list
  elements: dict
volume:
  description: The volume as C(gluster volume info) shows it; empty if it does not exist.
  returned: always
  type: dict
bricks:
  description: One entry per brick, with C(online), C(pid), C(port), C(heal_pending) (null if the brick
    cannot be reached) and C(heal_by_namespace).
  returned: always
  type: list
  elements: dict
heal_pending:
  description: Pending heal entries over all bricks, or null when a brick cannot be reached (unknown, not 0).
  returned: always
  type: int
heal_by_namespace:
  description: Pending heal entries per namespace, summed over the reachable bricks.
  returned: always
  type: dict
  sample: {"wiki": 4, "/": 1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import (
    GlusterError,
    parse_heal_info,
    parse_pool,
    parse_volume_info,
    parse_volume_status,
    run_gluster,
)


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type="str", required=True)), supports_check_mode=True)
    name = module.params["name"]

    def gluster(*args):
        return run_gluster(module, *args)

    try:
        peers = parse_pool(gluster("pool", "list"))
        volume = parse_volume_info(gluster("volume", "info", name)).get(name)
        if volume is None:
            module.exit_json(changed=False, exists=False, peers=peers, volume={}, bricks=[], heal_pending=None,
                             heal_by_namespace={})
        status = parse_volume_status(gluster("volume", "status", name))
        heal = parse_heal_info(gluster("volume", "heal", name, "info")) if volume["started"] else []
    except GlusterError as exc:
        module.fail_json(msg=str(exc))

    online = dict((b["name"], b) for b in status["bricks"])
    healed = dict((h["name"], h) for h in heal)
    bricks = []
    total, by_ns = 0, {}
    for brick in volume["bricks"]:
        st = online.get(brick["name"], {})
        h = healed.get(brick["name"])
        pending = h["pending"] if h and h["connected"] else None
        if pending is None:
            total = None
        elif total is not None:
            total += pending
        for ns, count in (h or {}).get("by_namespace", {}).items():
            by_ns[ns] = by_ns.get(ns, 0) + count
        bricks.append(dict(brick, online=bool(st.get("online")), pid=st.get("pid"), port=st.get("port"),
                           heal_status=h["status"] if h else None, heal_pending=pending,
                           heal_by_namespace=(h or {}).get("by_namespace", {})))
    module.exit_json(changed=False, exists=True, peers=peers, volume=volume, bricks=bricks, heal_pending=total,
                     heal_by_namespace=by_ns)


if __name__ == "__main__":
    main()
