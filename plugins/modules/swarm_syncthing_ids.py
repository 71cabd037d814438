#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: swarm_syncthing_ids
author: swarmdata.replication maintainers (@swarmdata)
short_description: Syncthing device identities and an API key kept as Swarm secrets
version_added: 0.2.0
description:
  - For each entry of O(identities), makes sure a Swarm secret holds a Syncthing identity (an ECDSA P-384 key
    and its self-signed certificate, PEM, key first), made in memory on the manager the module runs on.
  - The device ID is computed from the certificate as Syncthing does and kept as a label of the secret, so a
    second controller (or an empty working directory) reads it back and changes nothing.
  - With O(api_key_secret), makes sure that secret holds a random key for Syncthing's REST API.
  - The private keys and the API key never appear in the module's arguments or results.
  - A secret of one of these names that the collection did not make (its C(<prefix>.kind) label is not
    C(syncthing-identity), or C(syncthing-apikey) for the API key) is an error, never overwritten.
extends_documentation_fragment:
  - swarmdata.replication.common
  - swarmdata.replication.common.ATTRIBUTES
options:
  identities:
    description: One Syncthing identity per node.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Swarm secret name (1-64 characters of C([A-Za-z0-9_.-])).
        type: str
        required: true
      host:
        description: The inventory host the identity belongs to (the key of RV(device_ids)).
        type: str
        required: true
  api_key_secret:
    description: Name of a Swarm secret to hold the REST API key.
    type: str
  rotate:
    description:
      - Replace every listed identity and the API key with new ones (new device IDs). Swarm secrets are
        immutable, so each old secret is removed and a new one made under the same name; the engine refuses
        while a service uses it. Remove the Syncthing stack first and deploy it again after.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Identities for three nodes and the API key
  swarmdata.replication.swarm_syncthing_ids:
    identities:
      - {name: swarmdata-syncthing-node1, host: node1}
      - {name: swarmdata-syncthing-node2, host: node2}
    api_key_secret: swarmdata-syncthing-apikey
  register: ids
"""

RETURN = r"""
device_ids:
  description: Syncthing device ID per host (null in check mode for an identity that does not exist yet).
  returned: always
  type: dict
  sample: {"node1": "E2MMY2W-E4EIP2U-NED2OV5-NV6SWZZ-XUAYVTE-PW5JSNF-QOFP2AM-W3PD5QX"}
"""

import secrets as pysecrets

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    docker_client,
    require_swarm_manager,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._secrets import Kind, SecretStore, name_error
from ansible_collections.swarmdata.replication.plugins.module_utils._syncthing import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    generate_identity,
)

IDENTITY = Kind("syncthing-identity")
API_KEY = Kind("syncthing-apikey")


def make_identity(module):
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography (Debian: python3-cryptography)"),
                         exception=CRYPTOGRAPHY_IMPORT_ERROR)
    key_pem, cert_pem, device = generate_identity()
    return key_pem + cert_pem, {"device_id": device}


def make_api_key():
    return pysecrets.token_urlsafe(32).encode("ascii"), {}


def run(module):
    params = module.params
    names = [i["name"] for i in params["identities"]] + ([params["api_key_secret"]] if params["api_key_secret"]
                                                         else [])
    error = name_error([("secret name", name) for name in names])
    if error:
        module.fail_json(msg=error)
    hosts = [i["host"] for i in params["identities"]]
    dup = sorted(set(h for h in hosts if hosts.count(h) > 1))
    if dup:
        module.fail_json(msg="identities: host(s) %s listed more than once" % ", ".join(dup))
    client = docker_client(module)
    require_swarm_manager(module, client)
    store = SecretStore(module, client, params["label_prefix"])
    device_ids = {}
    for ident in params["identities"]:
        labels = store.ensure(ident["name"], IDENTITY, lambda: make_identity(module), rotate=params["rotate"])[1]
        device_ids[ident["host"]] = (labels or {}).get(store.label("device_id"))
    if params["api_key_secret"]:
        store.ensure(params["api_key_secret"], API_KEY, make_api_key, rotate=params["rotate"])
    return store.result(device_ids=device_ids)


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        identities=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            host=dict(type="str", required=True),
        )),
        api_key_secret=dict(type="str", no_log=False),
        rotate=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
