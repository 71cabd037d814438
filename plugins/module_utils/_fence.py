# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bind variant's fence per namespace: which host is its primary, since which epoch, and who is fenced.

Private to the swarmdata.replication collection: no compatibility promise. Pure functions; the module
namespace_fence keeps each fence in the swarm as a Swarm config (docs/failover.md).

A fence is ``{"epoch": int, "primary": host, "fenced": [hosts]}``. Every change makes a new epoch. The receivers
get the fence of each namespace from the stack and refuse any push that carries an older epoch, or that claims the
current epoch from another host than its primary (the mover's fence.py decides); the primary's sender does not
push to a fenced host, whose copy may hold writes the new primary lacks until failback.yml moves them aside.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmdata.replication.plugins.module_utils._inputs import (
    SECRET_NAME_RE,
    swarm_object_name,
)


class FenceError(Exception):
    """A fence change that is refused; the message names what to do."""


def config_name(label_prefix, namespace, epoch):
    """``<prefix>-fence-<namespace>-<epoch>``, cut with a digest to Swarm's 64 characters."""
    return swarm_object_name("%s-fence-%s" % (SECRET_NAME_RE.sub("_", label_prefix.rstrip(".")), namespace),
                             "-%d" % epoch)


def initial(primary):
    return {"epoch": 1, "primary": primary, "fenced": []}


def promote(fence, to, fenced=None):
    """The fence after a failover of its namespace to ``to``; ``fenced`` hosts (default: the old primary) are
    fenced until failback; a host promoted is never fenced."""
    if fence is None:
        raise FenceError("the cluster holds no fence for this namespace yet: run site.yml first")
    if to == fence["primary"]:
        raise FenceError("%s is already the primary (epoch %d)" % (to, fence["epoch"]))
    added = [fence["primary"]] if fenced is None else list(fenced)
    keep = sorted((set(fence["fenced"]) | set(added)) - {to})
    return {"epoch": fence["epoch"] + 1, "primary": to, "fenced": keep}


def admit(fence, hosts):
    """The fence after failback brought ``hosts`` back as replicas."""
    if fence is None:
        raise FenceError("the cluster holds no fence for this namespace yet: run site.yml first")
    if not hosts:
        raise FenceError("no host to admit")
    unknown = sorted(set(hosts) - set(fence["fenced"]))
    if unknown:
        raise FenceError("%s %s not fenced (fenced: %s)" % (", ".join(unknown), "is" if len(unknown) == 1 else "are",
                                                            ", ".join(fence["fenced"]) or "none"))
    return {"epoch": fence["epoch"] + 1, "primary": fence["primary"],
            "fenced": [h for h in fence["fenced"] if h not in hosts]}
