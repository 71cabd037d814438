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
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    APIError,
    docker_client,
    find_secret,
    require_swarm_manager,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._syncthing import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    generate_identity,
)
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import SECRET_NAME_RE

KIND_IDENTITY = "syncthing-identity"
KIND_API_KEY = "syncthing-apikey"


class SyncthingIds(object):
    def __init__(self, module):
        self.module = module
        prefix = module.params["label_prefix"].rstrip(".")
        self.label_device = prefix + ".device_id"
        self.label_kind = prefix + ".kind"
        self.before, self.after = {}, {}
        self.changed = False

    def existing(self, client, name, kind):
        secret = find_secret(client, name)
        if secret is None:
            return None
        labels = secret.attrs.get("Spec", {}).get("Labels") or {}
        if labels.get(self.label_kind) != kind:
            self.module.fail_json(msg="Swarm secret %r exists but was not made by this collection as a %s (its %s "
                                      "label is %r); remove it or choose another name"
                                      % (name, kind, self.label_kind, labels.get(self.label_kind)))
        return secret

    def create(self, client, name, data, labels):
        self.changed = True
        if self.module.check_mode:
            return
        try:
            client.secrets.create(name=name, data=data, labels=labels)
        except APIError as exc:
            # The engine's error text never carries the data sent.
            self.module.fail_json(msg="cannot create Swarm secret %r: %s" % (name, exc),
                                  exception=traceback.format_exc())

    def run(self):
        params = self.module.params
        names = [i["name"] for i in params["identities"]] + ([params["api_key_secret"]] if params["api_key_secret"]
                                                             else [])
        for name in names:
            if names.count(name) > 1:
                self.module.fail_json(msg="secret name %r is listed more than once" % name)
            if not name or len(name) > 64 or SECRET_NAME_RE.search(name):
                self.module.fail_json(msg="secret name %r must be 1-64 characters of [A-Za-z0-9_.-]" % name)
        hosts = [i["host"] for i in params["identities"]]
        dup = sorted(set(h for h in hosts if hosts.count(h) > 1))
        if dup:
            self.module.fail_json(msg="identities: host(s) %s listed more than once" % ", ".join(dup))
        client = docker_client(self.module)
        require_swarm_manager(self.module, client)
        device_ids = {}
        for ident in params["identities"]:
            name = ident["name"]
            secret = self.existing(client, name, KIND_IDENTITY)
            self.before[name] = "present" if secret else "absent"
            self.after[name] = "present"
            if secret is not None:
                device_ids[ident["host"]] = (secret.attrs["Spec"].get("Labels") or {}).get(self.label_device)
                continue
            if not HAS_CRYPTOGRAPHY:
                self.module.fail_json(msg=missing_required_lib("cryptography (Debian: python3-cryptography)"),
                                      exception=CRYPTOGRAPHY_IMPORT_ERROR)
            key_pem, cert_pem, device = generate_identity()
            try:
                self.create(client, name, key_pem + cert_pem, {self.label_device: device,
                                                               self.label_kind: KIND_IDENTITY})
            finally:
                del key_pem
            device_ids[ident["host"]] = None if self.module.check_mode else device
        if params["api_key_secret"]:
            name = params["api_key_secret"]
            secret = self.existing(client, name, KIND_API_KEY)
            self.before[name] = "present" if secret else "absent"
            self.after[name] = "present"
            if secret is None:
                self.create(client, name, pysecrets.token_urlsafe(32).encode("ascii"), {self.label_kind: KIND_API_KEY})
        result = dict(changed=self.changed, device_ids=device_ids)
        if self.module._diff:
            result["diff"] = {"before": self.before, "after": self.after}
        return result


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        identities=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            host=dict(type="str", required=True),
        )),
        api_key_secret=dict(type="str", no_log=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**SyncthingIds(module).run())


if __name__ == "__main__":
    main()
