# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: topology
author: swarmdata.replication maintainers (@swarmdata)
short_description: Turn the inventory into the per-node replication plan
version_added: 0.1.0
description:
  - Reads the inventory contract (the C(swarm_managers) and C(swarm_workers) groups, C(replication_variant),
    C(replication_namespaces), C(replication_primary), C(replication_root)) and returns one plan with each node's
    role (C(primary), C(replica) or C(peer)), its Swarm node labels, its directories and its peers, plus the
    placement constraints that match those labels and the names of the Swarm secrets the variant uses.
  - Node labels and placement constraints both come from this plan, so they cannot disagree.
  - Bad input raises an error that names the variable to change, before any host is touched.
  - Inventory hostnames and the host variables C(glusterfs_address), C(ansible_host) and C(swarm_advertise_addr)
    of the swarm hosts must be IP addresses or DNS names (C(swarm_advertise_addr) also an interface name, and a
    C(:port)); the error names the variable and the host.
options:
  _terms:
    description: Not used.
    required: false
  variant:
    description:
      - The replication variant.
      - One of C(bind), C(glusterfs), C(p2p). Checked by the plan, which names C(replication_variant) in its error.
    type: str
    vars:
      - name: replication_variant
  namespaces:
    description:
      - The namespaces, each a name or a dict with C(name) and optionally C(criticality)
        (C(critical), C(high), C(medium), C(low)), C(owner), C(group), C(mode), C(backup) (the namespace's
        own backup policy over its criticality's, keys as in O(backup_policy)) and C(hooks) (C(service), C(pre),
        C(post), C(scale_to_zero) and C(timeout), commands run in the application's container around each backup).
      - A name matches C([a-z0-9][a-z0-9_-]*) and has at most 63 characters.
      - C(mode) is a quoted octal string (C("0750")). An unquoted YAML C(0770) arrives as the integer 504, which
        cannot be told from a meant C(0504), so an integer is refused with a message saying to quote it.
    type: list
    elements: raw
    default: []
    vars:
      - name: replication_namespaces
  primary:
    description: Inventory hostname of the primary, for variants that have one (C(bind)).
    type: str
    vars:
      - name: replication_primary
  root:
    description:
      - Absolute path under which every node keeps the collection's data.
      - Letters, digits, C(.), C(_), C(-) and C(/) only (it reaches shell commands, Docker bind mounts and config
        files).
    type: str
    default: /opt/swarmdata
    vars:
      - name: replication_root
  label_prefix:
    description: Prefix of every node label the collection owns. Labels outside it are never touched.
    type: str
    default: swarmdata
    vars:
      - name: replication_label_prefix
  replica_count:
    description:
      - GlusterFS replica count (C(glusterfs) only).
      - Unset, it is 3 where the host count is a multiple of 3, and 2 data bricks plus an arbiter on 2 hosts.
    type: raw
    vars:
      - name: replication_replica_count
  backup_policy:
    description:
      - Backup policy per criticality over the collection's defaults (docs/backup.md), for example
        C(critical) with C(interval) 1800. Keys per level are C(interval), C(keep_last), C(keep_hourly),
        C(keep_daily), C(keep_weekly), C(keep_monthly) and C(max_age), in seconds or counts.
      - A namespace's own C(backup) dict goes over its level's.
    type: dict
    vars:
      - name: replication_backup_policy
  backup_host:
    description:
      - The inventory host that keeps the backup repositories (under C(<root>/backup)), served to each
        namespace's backup service (docs/backup.md). Unset, no backups are set up.
    type: str
    vars:
      - name: replication_backup_host
  backup_offsite_host:
    description:
      - An inventory host outside the swarm that keeps an append-only copy of every namespace's repository
        (under C(<root>/offsite)), filled after each verified backup (docs/backup.md). Needs O(backup_host).
    type: str
    vars:
      - name: replication_backup_offsite_host
  backup_textfile_dir:
    description:
      - node_exporter's textfile collector directory, made on every node; each backup service also writes its
        metrics there (C(swarmdata_backup_<namespace>.prom)) on whichever node it runs. Empty, the metrics stay in
        C(<root>/state/backup) only.
    type: str
    default: /var/lib/prometheus/node-exporter
    vars:
      - name: replication_backup_textfile_dir
  managers_group:
    description: Inventory group of the swarm managers (the swarm role reads the same variable).
    type: str
    default: swarm_managers
    vars:
      - name: swarm_managers_group
  workers_group:
    description: Inventory group of the swarm workers (the swarm role reads the same variable).
    type: str
    default: swarm_workers
    vars:
      - name: swarm_workers_group
"""

EXAMPLES = r"""
- name: Compute the plan (fails early, naming the variable, on bad input)
  ansible.builtin.set_fact:
    swarmdata_plan: "{{ lookup('swarmdata.replication.topology') }}"

- name: Place a service on the primary, with the constraint from the plan
  community.docker.docker_swarm_service:
    name: app
    image: app:1
    placement:
      constraints: "{{ swarmdata_plan.constraints.primary }}"

- name: Override the variant for one call
  ansible.builtin.debug:
    msg: "{{ lookup('swarmdata.replication.topology', variant='p2p').nodes }}"
"""

RETURN = r"""
_raw:
  description: One plan.
  type: list
  elements: dict
  contains:
    variant:
      description: The variant.
      type: str
      sample: bind
    root:
      description: Normalised C(replication_root).
      type: str
      sample: /opt/swarmdata
    primary:
      description: The primary's inventory hostname, or null where the variant has none.
      type: str
      sample: node1
    hosts:
      description: Every swarm host, managers first.
      type: list
      elements: str
    namespaces:
      description:
        - Normalised namespaces with C(name), C(path), C(criticality), C(owner), C(group), C(mode).
        - C(backup) is the namespace's computed backup policy (C(interval), the C(keep_*) counts, C(max_age) and
          C(criticality)).
      type: list
      elements: dict
    constraints:
      description: Placement constraints by node role (C(primary), C(replica), C(peer), C(member)).
      type: dict
      sample: {"primary": ["node.labels.swarmdata.role == primary"]}
    secrets:
      description:
        - Names of the Swarm secrets the variant uses (C(mover_key), C(host_keys) per replica), and
          C(ssh_keys), the list of keypairs to give M(swarmdata.replication.swarm_ssh_keys).
        - For C(p2p), C(syncthing_identities) (a list of C(name), C(host) for
          M(swarmdata.replication.swarm_syncthing_ids)) and C(syncthing_api_key).
      type: dict
    gluster:
      description:
        - GlusterFS layout for the C(glusterfs) variant, else null. C(replica) (data copies) and C(arbiter),
          C(volume) (its name), C(brick_root), C(mount) (where every node mounts it, the namespaces directory),
          and C(bricks) in create order, each with C(host), C(path), C(arbiter) and C(name) (C(address:path)).
      type: dict
    bind:
      description:
        - For variant C(bind) only. C(services) (the C(sender) and per replica the C(receivers), names inside the
          stack), C(state_dir), C(metrics) and C(guard) (the sender's status, Prometheus text and namespace guard).
      type: dict
    p2p:
      description: Present for variant C(p2p):C(services) (C(syncthing)), C(state_dir) and C(metrics).
      type: dict
    backup:
      description:
        - Backups (docs/backup.md), null without C(replication_backup_host). C(host) (it keeps the repositories),
          C(dir), C(state_dir), C(repository_service) and C(repository_port), C(password_secrets) (the Swarm
          secret of each namespace's restic password), C(http_secret) (the Swarm secret of the main repository
          server's HTTP credentials), C(services), per namespace the backup service's C(service) name, placement
          C(constraints), C(source) and C(snapshots) (a bind replica's snapshots of the namespace, or null),
          C(hook_service) and C(hook_port) (the hook agents, null without hooks), C(offsite) (C(host), C(dir) and
          C(http_secret), its own credentials, of the append-only copy, or null) and C(textfile_dir)
          (node_exporter's textfile collector directory, or null).
      type: dict
    marker:
      description: Path, inside each namespace, of the marker file that holds its identity (docs/data-safety.md).
      type: str
      sample: .swarmdata-id
    nodes:
      description:
        - Per inventory host, C(role), C(swarm_role), C(labels), C(peers), C(directories), C(namespace_dirs),
          C(slug) (a service-name-safe hostname), C(address) (how peers reach it; C(glusterfs_address), else
          C(ansible_host), else the inventory hostname), C(receiver) (the bind receiver's service name on a replica)
          and C(constraints) (pins a service to that node).
      type: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.swarmdata.replication.plugins.module_utils._topology import (
    ADDRESS_VARS,
    TopologyError,
    build_plan,
    validate_host_vars,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        groups = (variables or {}).get("groups") or {}
        hostvars = (variables or {}).get("hostvars") or {}
        swarm_hosts = set(h for g in (self.get_option("managers_group"), self.get_option("workers_group"))
                          for h in (groups.get(g) or []))
        addresses = {}
        host_vars = {}
        for host in set(h for hosts in groups.values() for h in hosts):
            try:
                hv = hostvars[host]
                addresses[host] = hv.get("glusterfs_address") or hv.get("ansible_host") or host
                host_vars[host] = dict((k, hv.get(k)) for k in ADDRESS_VARS + ("swarm_advertise_addr",))
            except (KeyError, TypeError):
                addresses[host] = host
        try:
            # Addresses reach gluster commands, auth.allow, fstab and Syncthing's config.xml: checked first,
            # naming the variable and the host.
            for host in sorted(swarm_hosts & set(host_vars)):
                validate_host_vars(host, host_vars[host])
            plan = build_plan(
                groups=dict((k, list(v)) for k, v in groups.items()),
                variant=self.get_option("variant"),
                namespaces=self.get_option("namespaces"),
                primary=self.get_option("primary"),
                root=self.get_option("root"),
                label_prefix=self.get_option("label_prefix"),
                managers_group=self.get_option("managers_group"),
                workers_group=self.get_option("workers_group"),
                replica_count=self.get_option("replica_count"),
                addresses=addresses,
                backup_policy=self.get_option("backup_policy"),
                backup_host=self.get_option("backup_host"),
                backup_offsite_host=self.get_option("backup_offsite_host"),
                backup_textfile_dir=self.get_option("backup_textfile_dir"),
            )
        except TopologyError as exc:
            raise AnsibleLookupError("swarmdata.replication.topology: %s" % exc) from exc
        return [plan]
