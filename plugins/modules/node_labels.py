#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_labels
author: swarmdata.replication maintainers (@swarmdata)
short_description: Reconcile the collection's Swarm node labels on every node in one call
version_added: 0.1.0
description:
  - Makes the labels under O(label_prefix) on every Swarm node exactly those given in O(nodes);
    adds, changes and removes prefixed labels, and never touches a label outside the prefix.
  - Nodes of the swarm not listed in O(nodes) lose their prefixed labels when O(exclusive=true), so a host
    taken out of the inventory is no longer matched by the collection's placement constraints.
  - Runs on a Swarm manager; uses the Docker SDK for Python.
  - Unlike M(community.docker.docker_node), it works on all nodes at once and only inside its own prefix.
extends_documentation_fragment:
  - swarmdata.replication.common
  - swarmdata.replication.common.ATTRIBUTES
options:
  nodes:
    description: The wanted prefixed labels per node.
    type: list
    elements: dict
    required: true
    suboptions:
      node:
        description: Swarm node ID or hostname.
        type: str
        required: true
      labels:
        description: Labels, every key starting with O(label_prefix) followed by a dot.
        type: dict
        default: {}
  exclusive:
    description: Remove prefixed labels from swarm nodes not listed in O(nodes).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Label the primary and a replica
  swarmdata.replication.node_labels:
    nodes:
      - node: node1
        labels: {swarmdata.role: primary}
      - node: node2
        labels: {swarmdata.role: replica}

- name: Preview what a run would change, label by label
  swarmdata.replication.node_labels:
    nodes:
      - node: node1
        labels: {swarmdata.role: primary}
  check_mode: true
  diff: true
  register: preview
"""

RETURN = r"""
nodes:
  description: Prefixed labels per node hostname after the run (what they would be, in check mode).
  returned: always
  type: dict
  sample: {"node1": {"swarmdata.role": "primary"}}
changes:
  description: One entry per label added, changed or removed.
  returned: always
  type: list
  elements: dict
  sample: [{"node": "node1", "label": "swarmdata.role", "before": null, "after": "primary"}]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    APIError,
    docker_client,
    require_swarm_manager,
)


def owned(labels, prefix):
    return dict((k, v) for k, v in (labels or {}).items() if k.startswith(prefix + "."))


def reconcile(current, wanted, prefix):
    """New full label set: ``current`` with its prefixed part replaced by ``wanted``."""
    result = dict((k, v) for k, v in (current or {}).items() if not k.startswith(prefix + "."))
    result.update(wanted)
    return result


class NodeLabels(object):
    def __init__(self, module):
        self.module = module
        self.prefix = module.params["label_prefix"].rstrip(".")
        self.check_mode = module.check_mode

    def wanted_by_node(self, swarm_nodes):
        by_key = {}
        for node in swarm_nodes:
            by_key[node.id] = node
            by_key[node.attrs["Description"]["Hostname"]] = node
            # The inventory name the collection labelled the node with (a node's hostname may differ from it).
            host_label = (node.attrs.get("Spec", {}).get("Labels") or {}).get(self.prefix + ".host")
            if host_label:
                by_key.setdefault(host_label, node)
        wanted = {}
        for i, entry in enumerate(self.module.params["nodes"]):
            labels = dict((str(k), str(v)) for k, v in (entry.get("labels") or {}).items())
            outside = sorted(k for k in labels if not k.startswith(self.prefix + "."))
            if outside:
                self.module.fail_json(msg="nodes[%d].labels: key(s) %s are outside label_prefix %r; this module "
                                          "only manages labels under its prefix" % (i, ", ".join(outside), self.prefix))
            node = by_key.get(entry["node"])
            if node is None:
                self.module.fail_json(msg="nodes[%d].node %r is not a node of this swarm (known: %s)"
                                          % (i, entry["node"], ", ".join(sorted(by_key))))
            if node.id in wanted:
                self.module.fail_json(msg="nodes[%d].node %r is listed twice" % (i, entry["node"]))
            wanted[node.id] = labels
        return wanted

    def run(self):
        client = docker_client(self.module)
        require_swarm_manager(self.module, client)
        swarm_nodes = client.nodes.list()
        wanted = self.wanted_by_node(swarm_nodes)
        changes = []
        before, after = {}, {}
        for node in swarm_nodes:
            hostname = node.attrs["Description"]["Hostname"]
            spec = node.attrs["Spec"]
            current = spec.get("Labels") or {}
            if node.id not in wanted and not self.module.params["exclusive"]:
                continue
            target = wanted.get(node.id, {})
            mine = owned(current, self.prefix)
            before[hostname] = mine
            after[hostname] = target
            for key in sorted(set(mine) | set(target)):
                if mine.get(key) != target.get(key):
                    changes.append({"node": hostname, "label": key, "before": mine.get(key), "after": target.get(key)})
            if mine != target and not self.check_mode:
                new_spec = dict(spec)
                new_spec["Labels"] = reconcile(current, target, self.prefix)
                try:
                    # The version guards against a concurrent update overwriting ours.
                    node.update(new_spec)
                except APIError as exc:
                    self.module.fail_json(msg="cannot update labels of node %s: %s" % (hostname, exc),
                                          exception=traceback.format_exc(), changes=changes)
        result = dict(changed=bool(changes), nodes=after, changes=changes)
        if self.module._diff:
            result["diff"] = {"before": before, "after": after}
        return result


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        nodes=dict(type="list", elements="dict", required=True, options=dict(
            node=dict(type="str", required=True),
            labels=dict(type="dict", default={}),
        )),
        exclusive=dict(type="bool", default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**NodeLabels(module).run())


if __name__ == "__main__":
    main()
