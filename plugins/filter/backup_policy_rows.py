# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: backup_policy_rows
author: swarmdata.replication maintainers (@swarmdata)
short_description: Format the plan's backup policy per namespace as status lines
version_added: 0.3.0
description:
  - Formats each namespace's computed backup policy (the plan's C(namespaces[].backup), docs/backup.md) as one
    line for C(playbooks/status.yml). The namespace, its criticality, how often it is backed up, what is kept, and
    the age after which its latest backup counts as missed. What is kept reads C(4 last 24h 14d 8w 12m), that is
    the last 4, 24 hourly, 14 daily, 8 weekly and 12 monthly snapshots.
options:
  _input:
    description: The plan's C(namespaces).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The policy table
  ansible.builtin.debug:
    msg: "{{ swarmdata_plan.namespaces | swarmdata.replication.backup_policy_rows }}"
"""

RETURN = r"""
_value:
  description: A header line, then one line per namespace.
  type: list
  elements: str
"""

# Short, so that a row stays within 80 characters: "24h 14d 8w 12m" is 24 hourly, 14 daily, 8 weekly, 12 monthly.
KEEPS = (("keep_last", " last"), ("keep_hourly", "h"), ("keep_daily", "d"), ("keep_weekly", "w"),
         ("keep_monthly", "m"))


def duration(seconds):
    """3600 -> '1h', 86400 -> '1d', 5400 -> '90m', 0 -> 'never'."""
    seconds = int(seconds)
    if seconds == 0:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds


def backup_policy_rows(namespaces):
    rows = ["%-16s %-9s %-6s %-22s %s" % ("namespace", "level", "every", "keeps", "overdue after")]
    for ns in namespaces:
        policy = ns.get("backup") or {}
        keeps = " ".join("%d%s" % (policy[k], name) for k, name in KEEPS if policy.get(k))
        rows.append("%-16s %-9s %-6s %-22s %s" % (ns.get("name"), policy.get("criticality", ns.get("criticality")),
                                                  duration(policy.get("interval", 0)), keeps,
                                                  duration(policy.get("max_age", 0))))
    return rows


class FilterModule(object):
    def filters(self):
        return {"backup_policy_rows": backup_policy_rows}
