#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gluster_peer
author: swarmdata.replication maintainers (@swarmdata)
short_description: Make hosts members of this node's GlusterFS trusted storage pool
version_added: 0.2.0
description:
  - Probes every host of O(peers) that the pool of the node it runs on does not know yet, then waits until
    every one of them is connected and in the cluster, or fails naming each peer that is not and why.
  - With O(state=absent), detaches the listed hosts that are in the pool (GlusterFS refuses while they hold bricks).
  - Reads the pool with C(gluster pool list --xml), so nothing depends on the CLI's text layout.
  - Runs on one node that is already in the pool (or on the first node, for a new pool).
extends_documentation_fragment:
  - swarmdata.replication.common.ATTRIBUTES
options:
  peers:
    description:
      - Hostnames or addresses of the other nodes, as their peers reach them. The node the module
        runs on may be listed; it is recognised by O(self_address) and skipped.
    type: list
    elements: str
    required: true
  self_address:
    description: The address by which the other nodes reach the node the module runs on.
    type: str
  state:
    description: Whether the peers should be in the pool or not.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description: Seconds to wait for probed peers to be connected and in the cluster.
    type: int
    default: 60
requirements:
  - The C(gluster) command (Debian package C(glusterfs-server)) and a running C(glusterd).
"""

EXAMPLES = r"""
- name: Form the pool from the first node
  swarmdata.replication.gluster_peer:
    peers: [node1, node2, node3]
    self_address: node1
  run_once: true
"""

RETURN = r"""
peers:
  description: The pool after the run, the local node included (C(self=true)).
  returned: always
  type: list
  elements: dict
  sample: [{"uuid": "4b63...", "hostname": "node2", "hostnames": ["node2"], "connected": true,
            "state": "Peer in Cluster", "self": false}]
probed:
  description: Hosts probed (or detached, with O(state=absent)) by this run.
  returned: always
  type: list
  elements: str
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import (
    GlusterError,
    op_error,
    parse_pool,
    run_gluster as gluster,
)

IN_CLUSTER = "Peer in Cluster"


def read_pool(module):
    try:
        return parse_pool(gluster(module, "pool", "list"))
    except GlusterError as exc:
        module.fail_json(msg=str(exc))


def find(pool, address):
    for peer in pool:
        if address in peer["hostnames"] or address == peer["hostname"]:
            return peer
    return None


def problem(peer):
    if peer is None:
        return "not in the pool"
    if not peer["connected"]:
        return ("in the pool but disconnected (state %r): is glusterd running there, and port 24007 open?"
                % peer["state"])
    if peer["state"] != IN_CLUSTER:
        hint = ""
        if "Rejected" in peer["state"]:
            hint = (" - its glusterd has a different UUID or volume configuration than the pool remembers,"
                    " as after a reinstall; see docs/glusterfs.md, 'Replacing a node'")
        return "state %r, not %r%s" % (peer["state"], IN_CLUSTER, hint)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            peers=dict(type="list", elements="str", required=True),
            self_address=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    params = module.params
    wanted = []
    for peer in params["peers"]:
        if peer and peer != params["self_address"] and peer not in wanted:
            wanted.append(peer)
    pool = read_pool(module)
    before = sorted(p["hostname"] for p in pool if not p["self"])
    acted = []
    if params["state"] == "present":
        for address in wanted:
            if find(pool, address) is not None:
                continue
            acted.append(address)
            if module.check_mode:
                continue
            error = op_error(gluster(module, "peer", "probe", address))
            if error is not None:
                module.fail_json(msg="gluster peer probe %s failed: %s. Check that glusterd runs on %s and that "
                                     "port 24007 is reachable from this node." % (address, error, address),
                                 probed=acted)
        if not module.check_mode:
            deadline = time.monotonic() + params["timeout"]
            while True:
                pool = read_pool(module)
                bad = [(a, problem(find(pool, a))) for a in wanted]
                bad = [(a, why) for a, why in bad if why]
                if not bad or time.monotonic() >= deadline:
                    break
                time.sleep(1)
            if bad:
                module.fail_json(msg="GlusterFS peer(s) not usable after %d s: %s"
                                     % (params["timeout"], "; ".join("%s: %s" % b for b in bad)),
                                 peers=pool, probed=acted)
    else:
        for address in wanted:
            if find(pool, address) is None:
                continue
            acted.append(address)
            if module.check_mode:
                continue
            error = op_error(gluster(module, "peer", "detach", address))
            if error is not None:
                module.fail_json(msg="gluster peer detach %s failed: %s" % (address, error), probed=acted)
        if acted and not module.check_mode:
            pool = read_pool(module)

    if module.check_mode:
        after = sorted(set(before) | set(acted)) if params["state"] == "present" else \
            sorted(h for h in before if h not in acted)
    else:
        after = sorted(p["hostname"] for p in pool if not p["self"])
    result = dict(changed=bool(acted), peers=pool, probed=acted)
    if module._diff:
        result["diff"] = {"before": {"peers": before}, "after": {"peers": after}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
