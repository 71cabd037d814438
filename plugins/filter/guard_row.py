# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: guard_row
author: swarmdata.replication maintainers (@swarmdata)
short_description: Format one namespace guard entry as a status line
version_added: 0.2.0
description:
  - Formats an entry of the namespace guard (docs/data-safety.md) as one line for C(playbooks/status.yml),
    with the namespace, the node, and V(ok) or V(REFUSED) with the reason and what to check.
options:
  _input:
    description: The entry, with C(namespace), C(node), C(refused) and C(reason).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: One line
  ansible.builtin.debug:
    msg: "{{ {'namespace': 'wiki', 'node': 'node1', 'refused': false} | swarmdata.replication.guard_row }}"
"""

RETURN = r"""
_value:
  description: The line.
  type: str
"""


def guard_row(entry):
    head = "  %-16s on %-20s " % (entry.get("namespace"), entry.get("node"))
    if not entry.get("refused"):
        return head + "ok"
    return head + ("REFUSED: %s; nothing is sent from this copy. Is its disk mounted? Accept it as it is only "
                   "with playbooks/accept_namespace.yml" % entry.get("reason"))


class FilterModule(object):
    def filters(self):
        return {"guard_row": guard_row}
