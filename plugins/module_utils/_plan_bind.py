# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bind variant's part of the plan: one primary, every other host a replica fed by the mover.

Private to the swarmdata.replication collection: no compatibility promise. Each variant module gives the
same functions (see docs/architecture.md): check, node_role, peers, secrets, extra_dirs, holds_namespaces
and section.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.swarmdata.replication.plugins.module_utils._inputs import (
    TopologyError,
    host_slug,
    secret_name,
)

# The marker inside each namespace that holds its identity (docs/data-safety.md).
MARKER = ".swarmdata-id"
HAS_PRIMARY = True


def check(ctx):
    """Validate what the variant needs; return the primary."""
    primary, hosts, groups = ctx["primary"], ctx["hosts"], ctx["group_names"]
    if primary in (None, ""):
        raise TopologyError("replication_primary must name the primary host for variant 'bind' (one of: %s)"
                            % ", ".join(hosts))
    if isinstance(primary, (list, tuple)):
        raise TopologyError("replication_primary must name exactly one host, got %d: %s"
                            % (len(primary), ", ".join(map(str, primary))))
    if primary not in hosts:
        raise TopologyError("replication_primary %r is not in %r or %r (hosts: %s)"
                            % ((primary,) + groups + (", ".join(hosts),)))
    if len(hosts) < 2:
        raise TopologyError("replication_variant 'bind' needs at least 2 hosts (a primary and a replica) in %r "
                            "and %r, got 1" % groups)
    return primary


def node_role(host, ctx):
    return "primary" if host == ctx["primary"] else "replica"


def peers(host, ctx):
    if host == ctx["primary"]:
        return [h for h in ctx["hosts"] if h != ctx["primary"]]
    return [ctx["primary"]]


def receiver(host, ctx):
    """The receiver's Swarm service (and DNS) name on a replica, inside the stack; None on the primary."""
    return None if host == ctx["primary"] else "recv-%s" % host_slug(host)


def secrets(ctx):
    prefix = ctx["label_prefix"]
    mover_key = secret_name(prefix, "mover", "key")
    host_keys = dict((h, secret_name(prefix, "hostkey", h)) for h in ctx["hosts"] if h != ctx["primary"])
    # ssh_keys is what swarm_ssh_keys takes: every keypair the variant keeps as a Swarm secret.
    return {
        "mover_key": mover_key,
        "host_keys": host_keys,
        "ssh_keys": [{"name": mover_key, "comment": "%s mover" % prefix}] + [
            {"name": name, "comment": "%s receiver on %s" % (prefix, host)} for host, name in host_keys.items()],
    }


def extra_dirs(root):
    return []


def holds_namespaces():
    """Every node keeps its own copy of each namespace."""
    return True


def section(ctx):
    """Service names (inside the stack) and state paths, so nothing else rebuilds them."""
    state = posixpath.join(ctx["root"], "state", "bind")
    return {
        "services": {"sender": "sender",
                     "receivers": dict((h, receiver(h, ctx)) for h in ctx["hosts"] if h != ctx["primary"])},
        "state_dir": state,
        "metrics": posixpath.join(state, "metrics.prom"),
        "guard": posixpath.join(state, "guard.json"),
    }
