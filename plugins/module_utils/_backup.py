# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup policy per namespace, from its criticality (docs/backup.md). Private to the collection.

Every variant has it, so it lives beside the common inputs, not in a variant's plan module. The plan carries the
computed policy as ``namespaces[].backup``; the backup runner (roles/backup) reads nothing else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.swarmdata.replication.plugins.module_utils._inputs import (
    CRITICALITIES,
    TopologyError,
    secret_name,
    validate_root,
)

HOUR = 3600
DAY = 24 * HOUR
# How often, how long kept (restic forget's --keep-* counts), and the oldest the latest backup may be before it
# counts as missed (the alert's threshold): two intervals, so one late or failed run does not page anyone.
BACKUP_POLICY = {
    "critical": {"interval": HOUR, "keep_last": 0, "keep_hourly": 24, "keep_daily": 14, "keep_weekly": 8,
                 "keep_monthly": 12, "max_age": 2 * HOUR},
    "high": {"interval": 6 * HOUR, "keep_last": 4, "keep_hourly": 0, "keep_daily": 14, "keep_weekly": 8,
             "keep_monthly": 12, "max_age": 12 * HOUR},
    "medium": {"interval": DAY, "keep_last": 0, "keep_hourly": 0, "keep_daily": 7, "keep_weekly": 4,
               "keep_monthly": 6, "max_age": 2 * DAY},
    "low": {"interval": 7 * DAY, "keep_last": 0, "keep_hourly": 0, "keep_daily": 0, "keep_weekly": 4,
            "keep_monthly": 3, "max_age": 14 * DAY},
}
POLICY_KEYS = ("interval", "keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "max_age")
KEEP_KEYS = tuple(k for k in POLICY_KEYS if k.startswith("keep_"))
MIN_INTERVAL = 300
HOOK_KEYS = ("service", "pre", "post", "timeout", "scale_to_zero")
# A Swarm service's name, as docker service ls shows it (a stack's services are <stack>_<service>).
SERVICE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
DEFAULT_HOOK_TIMEOUT = 600
# Where Debian's prometheus-node-exporter reads *.prom files (its textfile collector's default directory).
DEFAULT_TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"


def _apply(policy, override, variable):
    if not isinstance(override, dict):
        raise TopologyError("%s must be a dict of %s, got %r" % (variable, ", ".join(POLICY_KEYS), override))
    unknown = sorted(set(override) - set(POLICY_KEYS))
    if unknown:
        raise TopologyError("%s has unknown key(s) %s; allowed keys are %s"
                            % (variable, ", ".join(unknown), ", ".join(POLICY_KEYS)))
    for key, value in override.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TopologyError("%s.%s must be an integer of 0 or more, got %r" % (variable, key, value))
        policy[key] = value
    return policy


def levels(global_policy):
    """The policy of every criticality, with ``replication_backup_policy`` ({level: {key: value}}) over it."""
    variable = "replication_backup_policy"
    table = dict((level, dict(policy)) for level, policy in BACKUP_POLICY.items())
    if global_policy in (None, ""):
        return table
    if not isinstance(global_policy, dict):
        raise TopologyError("%s must be a dict keyed by criticality (%s), got %r"
                            % (variable, ", ".join(CRITICALITIES), global_policy))
    unknown = sorted(set(global_policy) - set(CRITICALITIES))
    if unknown:
        raise TopologyError("%s has unknown criticality %s; use %s"
                            % (variable, ", ".join(map(str, unknown)), ", ".join(CRITICALITIES)))
    for level, override in global_policy.items():
        _apply(table[level], override, "%s.%s" % (variable, level))
        _check(table[level], "%s.%s" % (variable, level))
    return table


def _check(policy, variable):
    if 0 < policy["interval"] < MIN_INTERVAL:
        raise TopologyError("%s.interval must be 0 (no scheduled backups) or at least %d seconds, got %d"
                            % (variable, MIN_INTERVAL, policy["interval"]))
    if policy["interval"] and policy["max_age"] < policy["interval"]:
        raise TopologyError("%s.max_age (%d s) is shorter than its interval (%d s): the latest backup would always "
                            "count as missed" % (variable, policy["max_age"], policy["interval"]))
    if not any(policy[k] for k in KEEP_KEYS):
        raise TopologyError("%s keeps nothing: at least one of %s must be 1 or more"
                            % (variable, ", ".join(KEEP_KEYS)))


def namespace_policy(ns, table, variable):
    """The namespace's policy: its criticality's from ``table`` (see levels), with its own ``backup`` over it."""
    policy = dict(table[ns["criticality"]])
    if ns.get("backup") is not None:
        _apply(policy, ns["backup"], variable + ".backup")
        _check(policy, variable + ".backup")
    policy["criticality"] = ns["criticality"]
    return policy


def namespace_hooks(ns, variable, variant="bind"):
    """The namespace's backup hooks (docs/backup.md, "Hooks"), normalized, or None.

    ``service``: the Swarm service whose running container the commands run in, wherever Swarm runs it; ``pre`` and
    ``post``: shell commands (``sh -c``) run there before the backup and after it (also after a failed one, once
    ``pre`` was tried); ``scale_to_zero``: the service is scaled to 0 for the copy and back to its former replica
    count after it, also when it fails; ``timeout``: seconds each command may take."""
    hooks = ns.get("hooks")
    if hooks is None:
        return None
    variable += ".hooks"
    if variant == "p2p":
        # A peer's copy lags behind the writes the application makes on another peer: what pre dumped there, or
        # wrote before it was scaled to 0, may not have reached the peer the backup reads.
        raise TopologyError("%s: hooks apply to variants bind and glusterfs, not p2p (the backup reads one peer's "
                            "copy, which may not hold yet what the application wrote on another)" % variable)
    if not isinstance(hooks, dict):
        raise TopologyError("%s must be a dict of %s, got %r" % (variable, ", ".join(HOOK_KEYS), hooks))
    unknown = sorted(set(hooks) - set(HOOK_KEYS))
    if unknown:
        raise TopologyError("%s has unknown key(s) %s; allowed keys are %s"
                            % (variable, ", ".join(map(str, unknown)), ", ".join(HOOK_KEYS)))
    service = hooks.get("service")
    if not isinstance(service, str) or not SERVICE_NAME_RE.fullmatch(service):
        raise TopologyError("%s.service must be the name of a Swarm service (<stack>_<service>), got %r"
                            % (variable, service))
    out = {"service": service, "pre": None, "post": None, "timeout": DEFAULT_HOOK_TIMEOUT, "scale_to_zero": False}
    for key in ("pre", "post"):
        value = hooks.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or "\0" in value:
            raise TopologyError("%s.%s must be a shell command (a string), got %r" % (variable, key, value))
        out[key] = value
    timeout = hooks.get("timeout", DEFAULT_HOOK_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= 86400:
        raise TopologyError("%s.timeout must be a number of seconds from 1 to 86400, got %r" % (variable, timeout))
    out["timeout"] = timeout
    scale = hooks.get("scale_to_zero", False)
    if not isinstance(scale, bool):
        raise TopologyError("%s.scale_to_zero must be true or false, got %r" % (variable, scale))
    out["scale_to_zero"] = scale
    if not (out["pre"] or out["post"] or scale):
        raise TopologyError("%s does nothing: set pre, post or scale_to_zero" % variable)
    return out


def offsite_section(ctx, host, offsite_host, all_hosts):
    """The off-site repository host (``replication_backup_offsite_host``), or None.

    It must be an inventory host outside the swarm and not the backup host: a swarm node runs whatever the swarm's
    services ask, so a compromised cluster could delete repositories kept there; a host the swarm does not run keeps
    its append-only server out of the cluster's reach."""
    variable = "replication_backup_offsite_host"
    if offsite_host in (None, ""):
        return None
    if not isinstance(offsite_host, str):
        raise TopologyError("%s must be an inventory hostname, got %r" % (variable, offsite_host))
    if host in (None, ""):
        raise TopologyError("%s is set but replication_backup_host is not: the off-site copy is a copy of the "
                            "repositories replication_backup_host keeps" % variable)
    if offsite_host in ctx["hosts"]:
        raise TopologyError("%s must be a host outside the swarm (a swarm node runs whatever the swarm's services "
                            "ask, so they could delete its repositories), got swarm host %r"
                            % (variable, offsite_host))
    if all_hosts is not None and offsite_host not in all_hosts:
        raise TopologyError("%s must be an inventory host, got %r" % (variable, offsite_host))
    return {"host": offsite_host, "dir": posixpath.join(ctx["root"], "offsite"),
            # Credentials of its own: they cross the network to a host outside the cluster, and must open nothing
            # in it (the main server, the hook agents).
            "http_secret": secret_name(ctx["label_prefix"], "backup", "offsite-http")}


def section(ctx, variant, host, bind_section=None, offsite_host=None, all_hosts=None,
            textfile_dir=DEFAULT_TEXTFILE_DIR):
    """Where each namespace's backup service runs and what it reads (docs/backup.md); None without ``host``.

    ``host`` (``replication_backup_host``) keeps the repositories, under ``<root>/backup``, served to the backup
    services over restic's REST protocol; ``offsite_host`` (``replication_backup_offsite_host``, outside the swarm)
    keeps an append-only copy of them under ``<root>/offsite``. ``textfile_dir`` (``replication_backup_textfile_dir``,
    empty for none) is where each service also writes its metrics for node_exporter, on whichever node it runs.
    Each namespace's service is placed by label, never on one named node, so Swarm moves it when its node is lost:

    - bind: on a replica (any node but the namespace's primary) reading its newest snapshot, where the namespace
      takes snapshots; on the primary, reading the live copy, where it takes none or has hooks;
    - glusterfs: on any member, reading its mount of the volume;
    - p2p: on any peer, reading its copy.
    """
    offsite = offsite_section(ctx, host, offsite_host, all_hosts)
    if host in (None, ""):
        return None
    if textfile_dir not in (None, ""):
        textfile_dir = validate_root(textfile_dir, "replication_backup_textfile_dir")
    if host not in ctx["hosts"]:
        raise TopologyError("replication_backup_host must be one of the swarm hosts (%s), got %r"
                            % (", ".join(ctx["hosts"]), host))
    prefix = ctx["label_prefix"]
    member = "node.labels.%s.member == true" % prefix
    services = {}
    for ns in ctx["namespaces"]:
        name = ns["name"]
        snapshots = None
        if variant == "bind":
            # With hooks, the copy must start right after them: the primary's live copy, not a replica's snapshot
            # (taken whenever its schedule says).
            if ns["snapshots"]["interval"] > 0 and not ns.get("hooks"):
                constraints = [member, "node.labels.%s.primary.%s != true" % (prefix, name)]
                snapshots = posixpath.join(bind_section["snapshot_dir"], name)
            else:
                constraints = list(bind_section["constraints"][name])
        else:
            constraints = [member]
        service = "backup-%s" % name.replace("_", "-")
        clash = [other for other, svc in services.items() if svc["service"] == service]
        if clash:
            raise TopologyError("replication_namespaces: namespaces %r and %r would share the backup service %r "
                                "('_' becomes '-'); rename one" % (clash[0], name, service))
        services[name] = {"service": service, "constraints": constraints, "source": ns["path"],
                          "snapshots": snapshots}
    return {
        "host": host,
        "dir": posixpath.join(ctx["root"], "backup"),
        "state_dir": posixpath.join(ctx["root"], "state", "backup"),
        "repository_service": "repo",
        "repository_port": 8000,
        "password_secrets": dict((ns["name"], secret_name(prefix, "restic", ns["name"])) for ns in ctx["namespaces"]),
        # The credentials (user swarmdata, a random password) both repository servers ask for over HTTP.
        "http_secret": secret_name(prefix, "backup", "http"),
        "services": services,
        # The hook agent (one task per member node, with its Docker socket), where some namespace has hooks.
        "hook_service": "hooks" if any(ns.get("hooks") for ns in ctx["namespaces"]) else None,
        "hook_port": 8001,
        # The append-only copy on a host outside the swarm, or null (replication_backup_offsite_host).
        "offsite": offsite,
        # node_exporter's textfile collector directory on every node, or null (replication_backup_textfile_dir).
        "textfile_dir": textfile_dir or None,
    }
