# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: namespace_users
author: swarmdata.replication maintainers (@swarmdata)
short_description: What on a Docker engine still uses a namespace
version_added: 0.2.0
description:
  - From the verbose output of M(community.docker.docker_swarm_info) (services) or
    M(community.docker.docker_host_info) (containers, volumes), everything
    that still uses one namespace, so C(playbooks/namespace.yml) refuses to delete it.
  - "A service whose environment names it in a C(*NAMESPACE_IDS) list (the bind sender, Syncthing: site.yml has not
    run since it left the inventory); a service, container or volume that mounts its directory or anything
    under it (a bind mount, or a local-driver volume with it as C(device))."
options:
  _input:
    description:
      - The registered result of M(community.docker.docker_swarm_info) or M(community.docker.docker_host_info) with
        C(verbose_output=true).
    type: dict
    required: true
  path:
    description: The namespace's directory.
    type: str
    required: true
  namespace:
    description: The namespace's name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse while anything uses it
  ansible.builtin.assert:
    that: info | swarmdata.replication.namespace_users('/opt/swarmdata/namespaces/old', 'old') | length == 0
"""

RETURN = r"""
_value:
  description: One line per user, such as C(service swarmdata_sender (names it)) or C(volume app_data (device)).
  type: list
  elements: str
"""

import re


def _under(candidate, path):
    candidate = (candidate or "").rstrip("/")
    return candidate == path or candidate.startswith(path + "/")


def _device(options):
    return (options or {}).get("device") or ""


def namespace_users(info, path, namespace):
    path = path.rstrip("/")
    named = re.compile(r"(^|\s)%s=" % re.escape(namespace))
    users = []
    for svc in info.get("services") or []:
        spec = svc.get("Spec") or {}
        container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
        name = spec.get("Name") or svc.get("ID")
        for env in container.get("Env") or []:
            key, _sep, value = env.partition("=")
            if key.endswith("NAMESPACE_IDS") and named.search(value):
                users.append("service %s (names it)" % name)
        for mount in container.get("Mounts") or []:
            driver = (mount.get("VolumeOptions") or {}).get("DriverConfig") or {}
            if _under(mount.get("Source"), path) or _under(_device(driver.get("Options")), path):
                users.append("service %s (mounts it)" % name)
    for ctr in info.get("containers") or []:
        names = ctr.get("Names") or [ctr.get("Id", "?")]
        if any(_under(m.get("Source"), path) for m in ctr.get("Mounts") or []):
            users.append("container %s" % names[0].lstrip("/"))
    for vol in info.get("volumes") or []:
        if _under(_device(vol.get("Options")), path):
            users.append("volume %s (device)" % vol.get("Name"))
    return sorted(set(users))


class FilterModule(object):
    def filters(self):
        return {"namespace_users": namespace_users}
