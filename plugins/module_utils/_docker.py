# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker SDK access shared by the collection's modules. Private to swarmdata.replication."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

try:
    import docker  # noqa: F401  pylint: disable=unused-import
    from docker.errors import APIError, DockerException  # noqa: F401  pylint: disable=unused-import

    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):  # type: ignore[no-redef]
        pass

    class APIError(DockerException):  # type: ignore[no-redef]
        pass


DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    label_prefix=dict(type="str", default="swarmdata"),
)


def docker_client(module):
    """A Docker client for ``module``'s docker_host; fails the module cleanly when there is none."""
    from ansible.module_utils.basic import missing_required_lib

    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker (Docker SDK for Python; Debian: python3-docker)"),
                         exception=DOCKER_IMPORT_ERROR)
    try:
        client = docker.DockerClient(base_url=module.params["docker_host"])
        client.ping()
    except DockerException as exc:
        module.fail_json(msg="cannot reach the Docker engine at %s: %s" % (module.params["docker_host"], exc),
                         exception=traceback.format_exc())
    return client


def find_by_name(collection, name):
    """The object of a Swarm collection (``client.secrets``, ``client.configs``) called exactly ``name``, or None.

    The API's name filter also matches prefixes, so the name is compared again here.
    """
    found = [o for o in collection.list(filters={"name": name}) if o.name == name]
    return found[0] if found else None


def require_swarm_manager(module, client):
    """Fail unless the engine is an active Swarm manager (labels and secrets live there)."""
    info = client.info()
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        module.fail_json(
            msg="this host is not an active Swarm manager (LocalNodeState=%s); run the module on a manager"
            % swarm.get("LocalNodeState")
        )
    return info
