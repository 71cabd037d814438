# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Swarm secrets the collection owns, kept one way for every module. Private to swarmdata.replication.

- A name is 1-64 characters of ``[A-Za-z0-9_.-]`` and is looked up exactly (the API's filter matches prefixes).
- Ownership: a secret is ours when its ``<prefix>.kind`` label names what made it (``ssh-ed25519``,
  ``syncthing-identity``, ...) and it carries the labels that kind always has. A kind may also accept the
  secrets earlier versions made without a kind label, by the labels those carried, so existing clusters
  keep working unchanged. Anything else of that name is refused, never reused, replaced or removed.
- The data goes from the caller's ``make()`` straight into the engine: never into an argument, a result,
  a diff or an exception message.
- Swarm secrets are immutable. Rotating one (only when asked) removes it and makes a new one under the same
  name; the engine refuses while a service uses it, and whoever uses it must be redeployed after.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import APIError, find_by_name
from ansible_collections.swarmdata.replication.plugins.module_utils._topology import SECRET_NAME_RE

NAME_RULE = "must be 1-64 characters of [A-Za-z0-9_.-]"


def valid_name(name):
    return bool(name) and len(name) <= 64 and not SECRET_NAME_RE.search(name)


def name_error(entries):
    """The first problem with ``entries`` ([(what, name)], ``what`` as the message names it), or None."""
    names = [name for _what, name in entries]
    for what, name in entries:
        if names.count(name) > 1:
            return "%s %r is listed more than once" % (what, name)
        if not valid_name(name):
            return "%s %r %s" % (what, name, NAME_RULE)
    return None


def find_secret(client, name):
    """The Swarm secret called exactly ``name``, or None."""
    return find_by_name(client.secrets, name)


def secret_labels(secret):
    return (secret.attrs.get("Spec", {}).get("Labels") or {}) if secret is not None else {}


class Kind(object):
    """What made a secret: the value of its ``<prefix>.kind`` label.

    ``required``: label suffixes every secret of this kind carries. ``legacy``: label suffixes by which a
    secret made before the kind label existed is recognised (none: such a secret is not accepted).
    """

    def __init__(self, name, required=(), legacy=()):
        self.name = name
        self.required = tuple(required)
        self.legacy = tuple(legacy)


class SecretStore(object):
    """The collection's secrets on one manager, for one module run: lookup, create, rotate, remove, diff."""

    def __init__(self, module, client, label_prefix):
        self.module = module
        self.client = client
        self.prefix = label_prefix.rstrip(".")
        self.changed = False
        self.before = {}
        self.after = {}

    def label(self, suffix):
        return "%s.%s" % (self.prefix, suffix)

    def refusal(self, labels, kind):
        """Why a secret with ``labels`` is not one of ours of ``kind``; None when it is."""
        kind_label = self.label("kind")
        value = labels.get(kind_label)
        missing = [self.label(s) for s in kind.required if self.label(s) not in labels]
        legacy = value is None and kind.legacy and all(self.label(s) in labels for s in kind.legacy)
        if (value == kind.name or legacy) and not missing:
            return None
        why = "its %s label is %r" % (kind_label, value)
        if missing:
            why += " and it has no %s label" % ", ".join(missing)
        return why

    def find(self, name, kind):
        """Our secret ``name`` of ``kind``, or None; fails the module on a secret of that name not ours."""
        secret = find_secret(self.client, name)
        if secret is not None:
            why = self.refusal(secret_labels(secret), kind)
            if why:
                self.module.fail_json(msg="Swarm secret %r exists but was not made by this collection as a %s "
                                          "(%s); remove it or choose another name" % (name, kind.name, why))
        self.before.setdefault(name, "absent" if secret is None else "present")
        return secret

    def ensure(self, name, kind, make, rotate=False):
        """Make sure ``name`` exists; return (secret ID, labels), both None in check mode when it is made.

        ``make()`` returns (data, {label suffix: value}); it is called only when a secret is made, never in
        check mode. With ``rotate``, an existing secret is replaced by a new one (the caller redeploys).
        """
        secret = self.find(name, kind)
        if secret is not None and not rotate:
            self.after[name] = "present"
            return secret.id, secret_labels(secret)
        self.changed = True
        self.after[name] = "present" if secret is None else "rotated"
        if self.module.check_mode:
            return None, None
        data, extra = make()
        if secret is not None:
            self._remove(name, secret, "rotate")
        labels = dict((self.label(k), v) for k, v in extra.items())
        labels[self.label("kind")] = kind.name
        try:
            created = self.client.secrets.create(name=name, data=data, labels=labels)
        except APIError as exc:
            # The engine's error text never carries the data sent.
            self.module.fail_json(msg="cannot create Swarm secret %r: %s" % (name, exc),
                                  exception=traceback.format_exc())
        finally:
            del data
        return getattr(created, "id", None), labels

    def remove(self, name, kind):
        """Make sure our secret ``name`` is gone (a foreign one of that name fails the module)."""
        secret = self.find(name, kind)
        self.after[name] = "absent"
        if secret is None:
            return
        self.changed = True
        if not self.module.check_mode:
            self._remove(name, secret, "remove")

    def _remove(self, name, secret, why):
        try:
            secret.remove()
        except APIError as exc:
            self.module.fail_json(
                msg="cannot %s Swarm secret %r: %s (a service that uses it must be removed first, and "
                    "redeployed after)" % (why, name, exc), exception=traceback.format_exc())

    def result(self, **values):
        """The module result: ``values``, changed, and the before/after diff when diff mode is on."""
        result = dict(values, changed=self.changed)
        if self.module._diff:
            result["diff"] = {"before": dict(self.before), "after": dict(self.after)}
        return result
