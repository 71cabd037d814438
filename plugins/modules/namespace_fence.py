#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: namespace_fence
author: swarmdata.replication maintainers (@swarmdata)
short_description: Keep each bind namespace's primary and fencing epoch in the swarm
version_added: 0.3.0
description:
  - For the bind variant. Per namespace, a fence holds its primary, an epoch that grows with every change, and
    the hosts that are fenced (an old primary after a failover, until failback). It lives in the swarm as a
    Swarm config named C(<label_prefix>-fence-<namespace>-<epoch>), so it is kept when the old primary is lost.
  - Receivers refuse pushes that carry an older epoch, so an old primary that comes back with its sender running
    writes nothing (docs/failover.md).
  - O(state=present) makes epoch 1 for a namespace the swarm has no fence for, and fails when the swarm's
    primary is not the one asked for, unless O(move_to) names the asked-for primary (then it is a promotion).
  - O(state=promote) moves O(namespace) to O(to) (a failover); O(state=admit) lifts the fence of O(hosts)
    (a failback). O(state=query) only reads.
extends_documentation_fragment:
  - swarmdata.replication.common
  - swarmdata.replication.common.ATTRIBUTES
options:
  namespaces:
    description: The namespaces, each with C(name) and C(primary) (the plan's C(namespaces)).
    type: list
    elements: dict
    default: []
  state:
    description: What to do.
    type: str
    choices: [present, query, promote, admit]
    default: present
  namespace:
    description: The namespace to promote or admit (O(state=promote), O(state=admit)).
    type: str
  to:
    description: The host that becomes the primary of O(namespace) (O(state=promote)).
    type: str
  hosts:
    description:
      - O(state=promote), the hosts to fence (default the old primary; an empty list for a planned switchover whose
        old primary is in sync). O(state=admit), the hosts to lift the fence of.
    type: list
    elements: str
  move_to:
    description: O(state=present), the primary a namespace may move to (site.yml's C(replication_primary_move_to)).
    type: str
"""

EXAMPLES = r"""
- name: Make each namespace's fence (epoch 1) where the swarm has none; refuse a primary that moved
  swarmdata.replication.namespace_fence:
    namespaces: "{{ swarmdata_plan.namespaces }}"
  register: fences

- name: Fail the namespace wiki over to node3 (fences the old primary)
  swarmdata.replication.namespace_fence:
    state: promote
    namespace: wiki
    to: node3
"""

RETURN = r"""
fences:
  description: Per namespace, C(epoch), C(primary) and C(fenced) after the run (null for one without a fence).
  returned: always
  type: dict
  sample: {"wiki": {"epoch": 2, "primary": "node3", "fenced": ["node1"]}}
mismatch:
  description: O(state=query), the namespaces whose swarm primary is not the one O(namespaces) gives.
  returned: always
  type: list
  elements: str
"""

import json
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    APIError,
    docker_client,
    require_swarm_manager,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._fence import (
    FenceError,
    admit,
    config_name,
    initial,
    promote,
)


class NamespaceFence(object):
    def __init__(self, module):
        self.module = module
        self.prefix = module.params["label_prefix"].rstrip(".")
        self.label = self.prefix + ".fence"
        self.client = None

    def configs(self, name):
        return [c for c in self.client.configs.list(filters={"label": "%s=%s" % (self.label, name)})
                if (c.attrs.get("Spec", {}).get("Labels") or {}).get(self.label) == name]

    def read(self, name):
        """The namespace's newest fence, or None."""
        best = None
        for config in self.configs(name):
            labels = config.attrs["Spec"]["Labels"]
            try:
                fence = {"epoch": int(labels[self.label + "-epoch"]), "primary": labels[self.label + "-primary"],
                         "fenced": [h for h in labels.get(self.label + "-fenced", "").split(",") if h]}
            except (KeyError, ValueError):
                self.module.fail_json(msg="Swarm config %r is labelled %s=%s but is not a fence this collection "
                                          "made; remove it" % (config.name, self.label, name))
            if best is None or fence["epoch"] > best["epoch"]:
                best = fence
        return best

    def write(self, name, fence):
        """Keep ``fence`` as a new config, then remove the older ones (a crash between leaves both: the newest wins)."""
        if self.module.check_mode:
            return
        labels = {self.label: name, self.label + "-epoch": str(fence["epoch"]),
                  self.label + "-primary": fence["primary"], self.label + "-fenced": ",".join(fence["fenced"])}
        try:
            self.client.configs.create(name=config_name(self.prefix, name, fence["epoch"]), labels=labels,
                                       data=json.dumps(dict(fence, namespace=name), sort_keys=True).encode("ascii"))
            for config in self.configs(name):
                if config.attrs["Spec"]["Labels"].get(self.label + "-epoch") != str(fence["epoch"]):
                    config.remove()
        except APIError as exc:
            self.module.fail_json(msg="cannot keep the fence of namespace %r in the swarm: %s" % (name, exc),
                                  exception=traceback.format_exc())

    def wanted(self, name, fence, primary, move_to):
        if fence is None:
            return initial(primary)
        if fence["primary"] == primary:
            return fence
        if move_to and move_to == primary:
            return promote(fence, primary)
        self.module.fail_json(
            msg="namespace %s: its primary in the swarm is %s (fence epoch %d), but the inventory makes it %s. Nothing "
                "was changed. If %s is right, set primary: %s on namespace %s in replication_namespaces (or "
                "replication_primary). To move it, run playbooks/failover.yml -e namespace=%s -e to=%s "
                "(docs/failover.md)"
                % (name, fence["primary"], fence["epoch"], primary, fence["primary"], fence["primary"], name, name,
                   primary), fences={name: fence})
        return None

    def run(self):
        params = self.module.params
        self.client = docker_client(self.module)
        require_swarm_manager(self.module, self.client)
        state = params["state"]
        names = [ns["name"] for ns in params["namespaces"]]
        if state in ("promote", "admit"):
            if not params["namespace"]:
                self.module.fail_json(msg="namespace is required with state=%s" % state)
            names = [params["namespace"]]
        before = dict((n, self.read(n)) for n in names)
        after = dict(before)
        mismatch = []
        try:
            if state == "present":
                for ns in params["namespaces"]:
                    after[ns["name"]] = self.wanted(ns["name"], before[ns["name"]], ns["primary"], params["move_to"])
            elif state == "query":
                mismatch = [ns["name"] for ns in params["namespaces"]
                            if before[ns["name"]] and before[ns["name"]]["primary"] != ns.get("primary")]
            elif state == "promote":
                if not params["to"]:
                    self.module.fail_json(msg="to is required with state=promote")
                after[names[0]] = promote(before[names[0]], params["to"], params["hosts"])
            else:
                after[names[0]] = admit(before[names[0]], params["hosts"] or [])
        except FenceError as exc:
            self.module.fail_json(msg="namespace %s: %s; nothing was changed" % (names[0], exc), fences=before)
        changed = False
        for name in names:
            if after[name] != before[name]:
                changed = True
                self.write(name, after[name])
        result = dict(changed=changed, fences=after, mismatch=mismatch)
        if self.module._diff:
            result["diff"] = {"before": before, "after": after}
        return result


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        namespaces=dict(type="list", elements="dict", default=[]),
        state=dict(type="str", choices=["present", "query", "promote", "admit"], default="present"),
        namespace=dict(type="str"),
        to=dict(type="str"),
        hosts=dict(type="list", elements="str"),
        move_to=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**NamespaceFence(module).run())


if __name__ == "__main__":
    main()
