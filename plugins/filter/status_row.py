# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: status_row
author: swarmdata.replication maintainers (@swarmdata)
short_description: Format one replication status entry as a table row
version_added: 0.1.0
description:
  - Formats a status entry the bind sender writes (one per replica and namespace) as one fixed-width row
    (replica, namespace, last successful sync in UTC, lag in seconds, duration, bytes sent, errors, last exit code).
options:
  _input:
    description: The status entry.
    type: dict
    required: true
  now:
    description: Current Unix time on the node that wrote the entry, for the lag.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: One row
  ansible.builtin.debug:
    msg: "{{ entry | swarmdata.replication.status_row(now) }}"
"""

RETURN = r"""
_value:
  description: The row.
  type: str
"""

import datetime


def status_row(entry, now):
    last = entry.get("last_success")
    if last:
        when = datetime.datetime.fromtimestamp(float(last), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        lag = "%d" % max(0, int(now) - int(float(last)))
        duration = "%.3fs" % float(entry.get("last_duration_seconds") or 0)
    else:
        when, lag, duration = "never", "-", "-"
    return "%-24s %-16s %-20s %8s %9s %12s %7s %5s" % (
        entry.get("replica"), entry.get("namespace"), when, lag, duration,
        entry.get("bytes_sent_total", 0), entry.get("errors_total", 0), entry.get("last_exit_code", "-"))


class FilterModule(object):
    def filters(self):
        return {"status_row": status_row}
