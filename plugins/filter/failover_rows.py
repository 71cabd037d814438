# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: failover_rows
author: swarmdata.replication maintainers (@swarmdata)
short_description: The bind variant's primary, fence and snapshot rows of the status table
version_added: 0.3.0
description:
  - Formats, per namespace, its primary, its fencing epoch and its fenced hosts (the fences that the
    M(swarmdata.replication.namespace_fence) module returns), then per replica and namespace the latest snapshot
    the sender recorded and its age.
options:
  _input:
    description: The fences, per namespace a dict with C(epoch), C(primary) and C(fenced).
    type: dict
    required: true
  snapshots:
    description: The snapshot entries the senders wrote (C(namespace), C(replica), C(snapshot), C(time), C(count)).
    type: list
    elements: dict
    required: true
  now:
    description: Current Unix time, for the snapshot age.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: The rows
  ansible.builtin.debug:
    msg: "{{ fences | swarmdata.replication.failover_rows(snapshot_entries, now) }}"
"""

RETURN = r"""
_value:
  description: The rows.
  type: list
  elements: str
"""


def failover_rows(fences, snapshots, now):
    rows = ["%-16s %-24s %6s  %s" % ("namespace", "primary", "epoch", "fenced (until failback.yml)")]
    for ns, fence in sorted((fences or {}).items()):
        fence = fence or {}
        rows.append("%-16s %-24s %6s  %s" % (ns, fence.get("primary", "- (no fence yet)"), fence.get("epoch", "-"),
                                             ", ".join(fence.get("fenced") or []) or "-"))
    rows.append("%-24s %-16s %-18s %8s %6s" % ("replica", "namespace", "latest snapshot", "age s", "kept"))
    for snap in sorted(snapshots or [], key=lambda s: (s.get("namespace"), s.get("replica"))):
        age = max(0, int(now) - int(snap.get("time", now)))
        rows.append("%-24s %-16s %-18s %8d %6s" % (snap.get("replica"), snap.get("namespace"), snap.get("snapshot"),
                                                   age, snap.get("count")))
    return rows


class FilterModule(object):
    def filters(self):
        return {"failover_rows": failover_rows}
