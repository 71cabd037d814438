# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: backup_status_rows
author: swarmdata.replication maintainers (@swarmdata)
short_description: Format each namespace's backup metrics as status lines
version_added: 0.3.0
description:
  - Formats what each namespace's backup service reports (the runner's Prometheus text, docs/backup.md) as one
    line for C(playbooks/status.yml). The namespace, the node its service runs on, the newest backup in the
    repository (UTC) and its age, the last run's result, the snapshot count, the last check and restore drill, and
    the off-site copy's state and snapshot count (C(-) where none is set).
  - The state reads C(ok), C(FAILED) (the last run failed), C(OVERDUE) (the newest backup is older than the
    policy's maximum age), or C(NONE) (the repository holds no backup yet).
options:
  _input:
    description: One entry per namespace, with C(namespace), C(host) and C(metrics) (the Prometheus text).
    type: list
    elements: dict
    required: true
  now:
    description: The current Unix time.
    type: float
    required: true
"""

EXAMPLES = r"""
- name: The backup table
  ansible.builtin.debug:
    msg: "{{ entries | swarmdata.replication.backup_status_rows(now()) }}"
"""

RETURN = r"""
_value:
  description: A header line, then one line per namespace.
  type: list
  elements: str
"""

import re
import time

from ansible.errors import AnsibleFilterError

METRIC_RE = re.compile(r"^swarmdata_backup_(\w+)\{([^}]*)\}\s+(\S+)$")
REPOSITORY_RE = re.compile(r'repository="(\w+)"')


def parse(text):
    """{metric name without its prefix: float} of the main repository from the runner's Prometheus text, and the
    off-site repository's under ``offsite_<name>`` (no such key: no off-site copy is set)."""
    out = {}
    for line in (text or "").splitlines():
        match = METRIC_RE.match(line.strip())
        if match:
            repository = REPOSITORY_RE.search(match.group(2))
            prefix = "offsite_" if repository and repository.group(1) == "offsite" else ""
            out[prefix + match.group(1)] = float(match.group(3))
    return out


def utc(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else "never"


def age(seconds):
    seconds = int(max(0, seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds


def state_of(m, now, prefix=""):
    last = m.get(prefix + "last_success_timestamp_seconds", 0)
    if not last:
        return "NONE"
    if m.get(prefix + "last_attempt_timestamp_seconds", 0) and not m.get(prefix + "last_status"):
        return "FAILED"
    if m.get("max_age_seconds") and now - last > m["max_age_seconds"]:
        return "OVERDUE"
    return "ok"


def offsite_of(m, now):
    """The off-site copy: its state and snapshot count, or '-' where none is set."""
    if "offsite_snapshots" not in m:
        return "-"
    return "%s/%d" % (state_of(m, now, "offsite_"), int(m["offsite_snapshots"]))


def backup_status_rows(entries, now):
    if not isinstance(entries, (list, tuple)):
        raise AnsibleFilterError("backup_status_rows: a list of {namespace, host, metrics} is needed")
    fmt = "%-16s %-18s %-21s %-6s %-8s %-9s %-21s %-21s %s"
    rows = [fmt % ("namespace", "runs on", "newest backup (UTC)", "age", "state", "snapshots", "last check",
                   "last drill", "off-site")]
    for entry in entries:
        m = parse(entry.get("metrics"))
        last = m.get("last_success_timestamp_seconds", 0)
        rows.append(fmt % (entry.get("namespace"), entry.get("host") or "-", utc(last),
                           age(now - last) if last else "-", state_of(m, now),
                           int(m.get("snapshots", 0)), utc(m.get("last_check_timestamp_seconds", 0)),
                           utc(m.get("last_drill_timestamp_seconds", 0)), offsite_of(m, now)))
    return rows


class FilterModule(object):
    def filters(self):
        return {"backup_status_rows": backup_status_rows}
