#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: swarm_backup_passwords
author: swarmdata.replication maintainers (@swarmdata)
short_description: Keep each backup repository's password in the cluster as a Swarm secret
version_added: 0.2.0
description:
  - Ensures each named Swarm secret exists and holds a random password (32 random bytes, hex), made on the
    manager and sent straight into the secret. The password is never written to a disk, never sent to the
    controller and never part of the module's arguments or result.
  - A restic repository cannot be opened without its password, so an existing secret is never replaced; a
    second controller with an empty working directory finds the same secrets and changes nothing.
  - A secret of that name that the collection did not make (no C(<prefix>.kind=restic-password) label) is an
    error, never overwritten or removed.
  - Each of O(http_names) holds the password of the HTTP user C(swarmdata) that the repository servers ask for.
    Its C(<prefix>.htpasswd) label holds the matching htpasswd line, so that a server outside the swarm, which
    cannot mount the secret, can be given it. The line is the C({SHA}) form; for 32 random bytes it cannot be
    reversed, and unlike bcrypt it is quick to check on every request.
extends_documentation_fragment:
  - swarmdata.replication.common
  - swarmdata.replication.common.ATTRIBUTES
options:
  names:
    description: Swarm secret names (at most 64 characters of C([A-Za-z0-9_.-])), one per repository.
    type: list
    elements: str
    required: true
  http_names:
    description: Swarm secret names of HTTP credentials for the repository servers (kind C(backup-http)).
    type: list
    elements: str
    default: []
  state:
    description:
      - Whether the secrets exist. Removing one loses access to its repository for good.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: One restic password per namespace's repository, kept in the swarm
  swarmdata.replication.swarm_backup_passwords:
    names: [swarmdata-restic-wiki, swarmdata-restic-db]
"""

RETURN = r"""
secrets:
  description: The Swarm secret ID of each name (null in check mode for one that does not exist yet).
  returned: always
  type: dict
  sample: {swarmdata-restic-wiki: 6c8mzx0k9x3q0h0qj7b6y2j3f}
htpasswd:
  description:
    - The htpasswd line of each of O(http_names) (null in check mode for one that does not exist yet). Not the
      password, but register it with C(no_log) all the same.
  returned: always
  type: dict
  sample: {swarmdata-backup-http: "swarmdata:{SHA}..."}
"""

import base64
import hashlib
import secrets as random_source

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    docker_client,
    require_swarm_manager,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._secrets import Kind, SecretStore, name_error

RESTIC_PASSWORD = Kind("restic-password")
BACKUP_HTTP = Kind("backup-http", required=("htpasswd",))
HTTP_USER = "swarmdata"


def make_password():
    return random_source.token_hex(32).encode("ascii"), {}


def htpasswd_line(password):
    """The htpasswd line of user swarmdata for ``password`` (bytes), in the {SHA} form rclone and rest-server read."""
    return "%s:{SHA}%s" % (HTTP_USER, base64.b64encode(hashlib.sha1(password).digest()).decode("ascii"))


def make_http_password():
    password = random_source.token_hex(32).encode("ascii")
    return password, {"htpasswd": htpasswd_line(password)}


def run(module):
    params = module.params
    error = name_error([("names[%d]" % i, name) for i, name in enumerate(params["names"])]
                       + [("http_names[%d]" % i, name) for i, name in enumerate(params["http_names"])])
    if error:
        module.fail_json(msg=error)
    client = docker_client(module)
    require_swarm_manager(module, client)
    store = SecretStore(module, client, params["label_prefix"])
    found = {}
    for name in params["names"]:
        if params["state"] == "absent":
            store.remove(name, RESTIC_PASSWORD)
            continue
        found[name] = store.ensure(name, RESTIC_PASSWORD, make_password)[0]
    lines = {}
    for name in params["http_names"]:
        if params["state"] == "absent":
            store.remove(name, BACKUP_HTTP)
            continue
        found[name], labels = store.ensure(name, BACKUP_HTTP, make_http_password)
        lines[name] = (labels or {}).get(store.label("htpasswd"))
    return store.result(secrets=found, htpasswd=lines)


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        names=dict(type="list", elements="str", required=True, no_log=False),
        http_names=dict(type="list", elements="str", default=[], no_log=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
