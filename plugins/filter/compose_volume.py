# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: compose_volume
author: swarmdata.replication maintainers (@swarmdata)
short_description: The compose fragment that gives an application service one namespace
version_added: 0.2.0
description:
  - From the plan (the C(swarmdata.replication.topology) lookup), the parts of a Swarm stack file that mount one
    namespace into a service and place the service where the namespace is written (docs/applications.md), so
    an application stack never hard-codes a path or a label.
  - "bind: the service runs on the namespace's primary (its C(<prefix>.primary.<namespace>) label); glusterfs and
    p2p: on any member node."
  - Returns C(service) (C(volumes) and C(deploy.placement.constraints), to merge into the service) and C(volumes)
    (the stack's top-level volumes; empty for the bind layout).
options:
  _input:
    description: The plan.
    type: dict
    required: true
  namespace:
    description: The namespace's name.
    type: str
    required: true
  layout:
    description:
      - V(bind) mounts the namespace's directory; V(volume) declares a named volume of the C(local) driver
        (C(type=none), C(o=bind), the directory as C(device)), as seed 000 has it.
    type: str
    choices: [bind, volume]
    default: bind
  target:
    description: Where the namespace appears in the container.
    type: str
    default: /data
  name:
    description: The named volume's key in the stack (layout V(volume)). Default C(<prefix>-<namespace>).
    type: str
  read_only:
    description: Mount it read-only (a reader, such as a report or a backup, on a glusterfs or p2p node).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: A stack with the wiki namespace at /var/www/data
  vars:
    plan: "{{ lookup('swarmdata.replication.topology') }}"
    wiki: "{{ plan | swarmdata.replication.compose_volume('wiki', target='/var/www/data') }}"
  ansible.builtin.copy:
    dest: /srv/wiki-stack.yml
    mode: "0644"
    content: "{{ {'version': '3.8', 'services': {'wiki': {'image': 'wiki:1'} | combine(wiki.service)},
                 'volumes': wiki.volumes} | to_nice_yaml }}"
"""

RETURN = r"""
_value:
  description: C(service) and C(volumes), as above.
  type: dict
"""

from ansible.errors import AnsibleFilterError


def compose_volume(plan, namespace, layout="bind", target="/data", name=None, read_only=False):
    if not isinstance(plan, dict) or "namespaces" not in plan:
        raise AnsibleFilterError("compose_volume: the input is not a plan (lookup('swarmdata.replication.topology'))")
    found = [ns for ns in plan["namespaces"] if ns.get("name") == namespace]
    if not found:
        raise AnsibleFilterError("compose_volume: namespace %r is not in replication_namespaces (known: %s)"
                                 % (namespace, ", ".join(ns.get("name", "") for ns in plan["namespaces"]) or "none"))
    if layout not in ("bind", "volume"):
        raise AnsibleFilterError("compose_volume: layout must be bind or volume, not %r" % (layout,))
    if not isinstance(target, str) or not target.startswith("/"):
        raise AnsibleFilterError("compose_volume: target must be an absolute path in the container, not %r"
                                 % (target,))
    path = found[0]["path"]
    if plan.get("variant") == "bind":
        # Only the primary's copy may be written: the replicas take what the primary's sender pushes.
        constraints = list(plan["bind"]["constraints"][namespace])
    else:
        constraints = list(plan["constraints"]["member"])
    volumes = {}
    if layout == "bind":
        # rslave: a disk mounted on the host after the service started (or the glusterfs mount coming back)
        # is seen inside it, not the directory under it.
        mount = {"type": "bind", "source": path, "target": target, "bind": {"propagation": "rslave"}}
    else:
        key = name or "%s-%s" % (plan.get("label_prefix", "swarmdata"), namespace)
        volumes[key] = {"driver": "local", "driver_opts": {"type": "none", "o": "bind", "device": path}}
        mount = {"type": "volume", "source": key, "target": target}
    if read_only:
        mount["read_only"] = True
    return {"service": {"volumes": [mount], "deploy": {"placement": {"constraints": constraints}}},
            "volumes": volumes}


class FilterModule(object):
    def filters(self):
        return {"compose_volume": compose_volume}
