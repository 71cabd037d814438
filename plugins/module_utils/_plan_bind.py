# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bind variant's part of the plan: per namespace one primary, every other host a replica fed by the mover.

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
# Snapshots on every replica, by criticality (docs/failover.md): seconds between two, and how many are kept.
SNAPSHOT_POLICY = {
    "critical": {"interval": 900, "keep": 96},    # every 15 minutes, a day of them
    "high": {"interval": 3600, "keep": 48},       # hourly, two days
    "medium": {"interval": 21600, "keep": 28},    # every 6 hours, a week
    "low": {"interval": 86400, "keep": 14},       # daily, two weeks
}
SNAPSHOT_MIN_INTERVAL = 60


def snapshot_policy(ns, variable):
    """The namespace's snapshot schedule and retention: its criticality's, with its own ``snapshots`` over it."""
    policy = dict(SNAPSHOT_POLICY[ns["criticality"]])
    override = ns.get("snapshots")
    if override is None:
        return policy
    if not isinstance(override, dict) or set(override) - {"interval", "keep"}:
        raise TopologyError("%s.snapshots must be a dict with 'interval' (seconds, 0 for none) and/or 'keep', got %r"
                            % (variable, override))
    for key, minimum in (("interval", 0), ("keep", 1)):
        if key in override:
            value = override[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise TopologyError("%s.snapshots.%s must be an integer of at least %d, got %r"
                                    % (variable, key, minimum, value))
            policy[key] = value
    if 0 < policy["interval"] < SNAPSHOT_MIN_INTERVAL:
        raise TopologyError("%s.snapshots.interval must be 0 (no scheduled snapshots) or at least %d seconds, got %d"
                            % (variable, SNAPSHOT_MIN_INTERVAL, policy["interval"]))
    return policy


def check(ctx):
    """Validate what the variant needs; return the primary (the default of each namespace's own)."""
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
    for i, ns in enumerate(ctx["namespaces"]):
        variable = "replication_namespaces[%d]" % i
        own = ns.get("primary")
        if own is not None and (not isinstance(own, str) or own not in hosts):
            raise TopologyError("%s.primary %r is not in %r or %r (hosts: %s)"
                                % ((variable, own) + groups + (", ".join(hosts),)))
        ns["primary"] = own or primary
        ns["snapshots"] = snapshot_policy(ns, variable)
    return primary


def primaries(ctx):
    """{namespace: its primary}."""
    return dict((ns["name"], ns["primary"]) for ns in ctx["namespaces"])


def primary_hosts(ctx):
    """The hosts that are the primary of a namespace (the default primary when there is no namespace)."""
    found = set(primaries(ctx).values()) or {ctx["primary"]}
    return [h for h in ctx["hosts"] if h in found]


def node_role(host, ctx):
    return "primary" if host in primary_hosts(ctx) else "replica"


def node_labels(host, ctx):
    """Per namespace, ``<prefix>.primary.<ns>=true`` on its primary: what an application's placement follows."""
    return dict(("%s.primary.%s" % (ctx["label_prefix"], ns), "true") for ns, h in sorted(primaries(ctx).items())
                if h == host)


def namespace_constraints(ctx):
    """{namespace: the placement constraint of a service that must run where the namespace's primary is}."""
    return dict((ns, ["node.labels.%s.primary.%s == true" % (ctx["label_prefix"], ns)]) for ns in primaries(ctx))


def targets(ctx):
    """{namespace: the hosts its primary replicates it to}, every host but the primary, in host order."""
    return dict((ns, [h for h in ctx["hosts"] if h != p]) for ns, p in primaries(ctx).items())


def peers(host, ctx):
    if not ctx["namespaces"]:
        return [h for h in ctx["hosts"] if h != ctx["primary"]] if host == ctx["primary"] else [ctx["primary"]]
    found = set()
    for ns, p in primaries(ctx).items():
        if p == host:
            found.update(targets(ctx)[ns])
        else:
            found.add(p)
    return [h for h in ctx["hosts"] if h in found]


def receiver(host, ctx):
    """The receiver's Swarm service (and DNS) name on a host that is a replica of a namespace; else None."""
    if ctx["namespaces"]:
        needed = any(p != host for p in primaries(ctx).values())
    else:
        needed = host != ctx["primary"]
    return "recv-%s" % host_slug(host) if needed else None


def sender(host, ctx):
    """The sender's service name on a primary: ``sender`` on the default primary, ``sender-<host>`` elsewhere."""
    return "sender" if host == ctx["primary"] else "sender-%s" % host_slug(host)


def secrets(ctx):
    prefix = ctx["label_prefix"]
    mover_key = secret_name(prefix, "mover", "key")
    host_keys = dict((h, secret_name(prefix, "hostkey", h)) for h in ctx["hosts"] if receiver(h, ctx))
    # ssh_keys is what swarm_ssh_keys takes: every keypair the variant keeps as a Swarm secret.
    return {
        "mover_key": mover_key,
        "host_keys": host_keys,
        "ssh_keys": [{"name": mover_key, "comment": "%s mover" % prefix}] + [
            {"name": name, "comment": "%s receiver on %s" % (prefix, host)} for host, name in host_keys.items()],
    }


def extra_dirs(root):
    # Snapshots on the replicas, and what failover and failback move aside (never delete): docs/failover.md.
    return [{"path": posixpath.join(root, d), "owner": "root", "group": "root", "mode": "0700"}
            for d in ("snapshots", "diverged")]


def holds_namespaces():
    """Every node keeps its own copy of each namespace."""
    return True


def section(ctx):
    """Service names (inside the stack), per-namespace primaries and policy, state paths."""
    state = posixpath.join(ctx["root"], "state", "bind")
    own = primaries(ctx)
    return {
        "services": {"sender": sender(ctx["primary"], ctx),
                     "senders": dict((h, sender(h, ctx)) for h in primary_hosts(ctx)),
                     "receivers": dict((h, receiver(h, ctx)) for h in ctx["hosts"] if receiver(h, ctx))},
        "primaries": own,
        # Per primary, the namespaces its sender replicates.
        "sends": dict((h, sorted(ns for ns, p in own.items() if p == h)) for h in primary_hosts(ctx)),
        "targets": targets(ctx),
        "constraints": namespace_constraints(ctx),
        "snapshots": dict((ns["name"], ns["snapshots"]) for ns in ctx["namespaces"]),
        "snapshot_dir": posixpath.join(ctx["root"], "snapshots"),
        "diverged_dir": posixpath.join(ctx["root"], "diverged"),
        "state_dir": state,
        # Per replica and namespace, the latest snapshot the sender took there (JSON).
        "snapshot_state_dir": posixpath.join(ctx["root"], "state", "bind-snapshots"),
        "metrics": posixpath.join(state, "metrics.prom"),
        "guard": posixpath.join(state, "guard.json"),
    }
