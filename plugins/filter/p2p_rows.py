# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: p2p_rows
author: swarmdata.replication maintainers (@swarmdata)
short_description: Format one node's Syncthing status as status table rows
version_added: 0.2.0
description:
  - Takes an inventory hostname and C(hostvars); reads that host's registered C(status_st) (the JSON that
    C(st-status) prints in the p2p variant's container) and returns one fixed-width row per namespace
    (node, namespace, in sync, items and bytes still to fetch, conflict copies, the last change received from a
    peer, peers connected).
  - A namespace the node's guard refuses (its marker missing or holding another identity) shows C(REFUSED) in
    the in-sync column, and one more row after the table's rows of the node names it, the node, the reason and
    what to check.
  - A host without a readable status gives one row saying so.
options:
  _input:
    description: The inventory hostname.
    type: str
    required: true
  hostvars:
    description: C(hostvars).
    type: raw
    required: true
  key:
    description: Name of the registered C(st-status) result in each host's variables.
    type: str
    default: status_st
"""

EXAMPLES = r"""
- name: Rows for every host of the play
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts | map('swarmdata.replication.p2p_rows', hostvars) | flatten }}"
"""

RETURN = r"""
_value:
  description: The rows.
  type: list
  elements: str
"""

import json


def p2p_rows(host, hostvars, key="status_st"):
    registered = (hostvars.get(host) or {}).get(key) or {}
    text = registered.get("stdout") if hasattr(registered, "get") else None
    if not text:
        reason = registered.get("stderr") or registered.get("msg") or "no Syncthing container running" \
            if hasattr(registered, "get") else "no status"
        return ["%-20s %s" % (host, ("status unavailable: %s" % reason)[:100])]
    status = json.loads(text)
    peers = status.get("peers") or {}
    connected = "%d/%d" % (sum(1 for p in peers.values() if p.get("connected")), len(peers))
    rows, refusals = [], []
    for f in status.get("folders") or []:
        last = f.get("last_change") or {}
        when = (last.get("at") or "")[:19].replace("T", " ")
        if not when or when.startswith("0001"):
            change = "-"
        else:
            change = "%s %s%s" % (when, "deleted " if last.get("deleted") else "", last.get("file") or "")
        if f.get("refused"):
            sync = "REFUSED"
        elif f.get("in_sync"):
            sync = "yes"
        else:
            sync = "NO (%s)" % f.get("state")
        rows.append("%-20s %-14s %-8s %9s %12s %9s  %-44s %s" % (
            host, f.get("folder"), sync, f.get("need_files", 0), f.get("need_bytes", 0),
            len(f.get("conflicts") or []), change[:44], connected))
        if f.get("refused"):
            refusals.append("REFUSED namespace %s on %s: %s. Nothing from this copy is synced, so the other nodes "
                            "keep their data. Check that its disk is mounted at %s; replication resumes by itself "
                            "once the marker is back (or accept this copy: playbooks/accept_namespace.yml -e "
                            "namespace=%s -e host=%s -e confirm=%s)." % (
                                f.get("folder"), host, f["refused"], f.get("path"), f.get("folder"), host,
                                f.get("folder")))
    return rows + refusals


class FilterModule(object):
    def filters(self):
        return {"p2p_rows": p2p_rows}
