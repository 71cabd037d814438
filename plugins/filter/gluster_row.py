# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: gluster_row
author: swarmdata.replication maintainers (@swarmdata)
short_description: Format a GlusterFS peer, brick or namespace as a status table row
version_added: 0.2.0
description:
  - Formats one entry of what M(swarmdata.replication.gluster_volume_info) returns as a fixed-width row.
  - V(peer) rows show hostname, state and whether it is connected; V(brick) rows show the brick, whether it is
    online and its pending heal entries; V(namespace) rows show the pending heal entries of a namespace.
options:
  _input:
    description: A peer or brick dict, or a namespace name.
    type: raw
    required: true
  kind:
    description: What the input is.
    type: str
    choices: [peer, brick, namespace]
    required: true
  by_namespace:
    description: For V(namespace), pending heal entries per namespace (C(heal_by_namespace)).
    type: dict
  unknown:
    description: For V(namespace), true when a brick could not be reached, so a missing count is unknown, not 0.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Brick rows
  ansible.builtin.debug:
    msg: "{{ info.bricks | map('swarmdata.replication.gluster_row', 'brick') | list }}"
"""

RETURN = r"""
_value:
  description: The row.
  type: str
"""

from ansible.errors import AnsibleFilterError


def gluster_row(item, kind, by_namespace=None, unknown=False):
    if kind == "peer":
        name = "%s (this node)" % item.get("hostname") if item.get("self") else item.get("hostname")
        return "%-28s %-22s %s" % (name, item.get("state") or "-", "yes" if item.get("connected") else "NO")
    if kind == "brick":
        pending = item.get("heal_pending")
        return "%-48s %-7s %s" % (item.get("name"), "yes" if item.get("online") else "NO",
                                  "unknown (%s)" % (item.get("heal_status") or "unreachable")
                                  if pending is None else pending)
    if kind == "namespace":
        count = (by_namespace or {}).get(item, 0)
        return "%-24s %s" % (item, "%d or more (a brick is unreachable)" % count if unknown else count)
    raise AnsibleFilterError("gluster_row: kind must be peer, brick or namespace, got %r" % (kind,))


class FilterModule(object):
    def filters(self):
        return {"gluster_row": gluster_row}
