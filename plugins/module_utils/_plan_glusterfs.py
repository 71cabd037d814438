# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The glusterfs variant's part of the plan: one replicated volume over every host, mounted on each.

Private to the swarmdata.replication collection: no compatibility promise. Same functions as _plan_bind;
section() is the volume's layout (plan.gluster), computed here only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.swarmdata.replication.plugins.module_utils._gluster import brick_layout
from ansible_collections.swarmdata.replication.plugins.module_utils._inputs import TopologyError
# Every host an equal peer, as in p2p: the same roles, peers and (no) receivers.
from ansible_collections.swarmdata.replication.plugins.module_utils._plan_p2p import (  # noqa: F401  # pylint: disable=unused-import
    check_addresses,
    node_labels,
    node_role,
    peers,
    receiver,
)

MARKER = ".swarmdata-id"
HAS_PRIMARY = False


def check(ctx):
    check_addresses(ctx, "glusterfs")
    _gluster_layout(len(ctx["hosts"]), ctx["replica_count"])
    return None


def secrets(ctx):
    return {"ssh_keys": []}


def extra_dirs(root):
    return [{"path": posixpath.join(root, "brick"), "owner": "root", "group": "root", "mode": "0700"}]


def holds_namespaces():
    """The namespaces live in the shared mount and are made once, through it."""
    return False


def section(ctx):
    hosts, root, addresses = ctx["hosts"], ctx["root"], ctx["addresses"]
    gluster = _gluster_layout(len(hosts), ctx["replica_count"])
    gluster["volume"] = ctx["label_prefix"].replace(".", "-")
    gluster["brick_root"] = posixpath.join(root, "brick")
    gluster["mount"] = posixpath.join(root, "namespaces")
    # The one computation of the brick layout (the gluster modules' own helper); two hosts put the arbiter
    # (metadata only) on the first one, in its own directory.
    bricks = brick_layout(hosts, gluster["brick_root"], gluster["volume"], gluster["replica"], gluster["arbiter"],
                          address=addresses)
    gluster["bricks"] = [dict((k, v) for k, v in b.items() if k != "address") for b in bricks]
    return gluster


def _gluster_layout(node_count, replica_count):
    """Replica/arbiter layout for a GlusterFS volume over ``node_count`` bricks."""
    if node_count < 2:
        raise TopologyError("replication_variant 'glusterfs' needs at least 2 hosts, got %d" % node_count)
    if replica_count in (None, ""):
        if node_count == 2:
            # Plain replica 2 splits brain; 2 data bricks + an arbiter brick does not.
            return {"replica": 2, "arbiter": 1}
        if node_count % 3:
            raise TopologyError(
                "replication_replica_count is unset and the %d hosts are not a multiple of 3: set it to a "
                "count that divides %d (at least 3), e.g. %d for one brick per host"
                % (node_count, node_count, node_count))
        replica_count = 3
    try:
        replica_count = int(replica_count)
    except (TypeError, ValueError):
        raise TopologyError("replication_replica_count must be an integer, got %r" % (replica_count,)) from None
    if replica_count > node_count:
        raise TopologyError(
            "replication_replica_count is %d but there are only %d hosts" % (replica_count, node_count)
        )
    if replica_count == 2:
        raise TopologyError(
            "replication_replica_count 2 (plain replica 2) splits brain; use 3, or leave it unset on 2 hosts "
            "to get replica 2 with an arbiter"
        )
    if replica_count < 2:
        raise TopologyError("replication_replica_count must be at least 3, got %d" % replica_count)
    if node_count % replica_count:
        raise TopologyError(
            "replication_replica_count %d does not divide the %d hosts; a GlusterFS volume needs a multiple "
            "of the replica count in bricks" % (replica_count, node_count)
        )
    return {"replica": replica_count, "arbiter": 0}
