#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: swarm_services_wait
author: swarmdata.replication maintainers (@swarmdata)
short_description: Wait until a stack's Swarm services run as many tasks as they want
version_added: 0.2.0
description:
  - Reads a stack's services and their tasks from the Docker API on a Swarm manager and waits until every
    service runs as many tasks as it wants (a replicated service its replica count, a global one a task per
    eligible node) and no update is in progress.
  - Returns each service's desired and running tasks and the last task error. On timeout it fails, naming every
    service that did not converge and why (the last task error, or the tasks' states).
  - Only reads. In check mode it reads once and never waits or fails, so a check run on a cluster where the
    stack does not exist yet reports instead of timing out.
extends_documentation_fragment:
  - swarmdata.replication.common
  - swarmdata.replication.common.INFO_ATTRIBUTES
options:
  stack:
    description: The stack's name (its services carry the label C(com.docker.stack.namespace=<stack>)).
    type: str
    required: true
  services:
    description:
      - The services the stack must have, by their name inside the stack (C(sender) for C(<stack>_sender)).
        A missing one counts as not converged. Unset, every service the stack has is waited for.
    type: list
    elements: str
  expected_tasks:
    description:
      - Per service (name inside the stack), how many tasks must run. Needed for a global service, whose tasks
        the scheduler makes one node at a time, so that a read between two of them does not count as converged.
    type: dict
    default: {}
  timeout:
    description: Seconds to wait before failing.
    type: int
    default: 180
  interval:
    description: Seconds between reads.
    type: float
    default: 2
  reads:
    description:
      - How many reads in a row must find every service converged.
      - The default 2 is for right after a deploy, when the updater may not have begun yet, and a task that
        crash-loops can be running at one instant. A stack that this run did not change (its deploy reported no
        change) needs only 1, which saves the interval.
    type: int
    default: 2
"""

EXAMPLES = r"""
- name: Wait for the mover stack
  swarmdata.replication.swarm_services_wait:
    stack: swarmdata
    services: [sender, recv-node2, recv-node3]
    timeout: 180
  register: wait

- name: Show the running tasks per service
  ansible.builtin.debug:
    msg: "{{ wait.services | dict2items | map(attribute='value.running') | list }}"
"""

RETURN = r"""
converged:
  description: Whether every service runs as many tasks as it wants.
  returned: always
  type: bool
services:
  description: Per service (full name), what it wants and runs.
  returned: always
  type: dict
  contains:
    desired:
      description: Tasks the service wants (replica count, or eligible nodes for a global service).
      type: int
    running:
      description: Tasks running now.
      type: int
    updating:
      description: Whether an update of the service is in progress.
      type: bool
    last_error:
      description: The newest task error, if any (e.g. C(no suitable node)).
      type: str
  sample: {"swarmdata_sender": {"desired": 1, "running": 1, "updating": false, "last_error": null}}
waited:
  description: Seconds spent waiting.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmdata.replication.plugins.module_utils._docker import (
    DOCKER_COMMON_ARGS,
    DockerException,
    docker_client,
    require_swarm_manager,
)

STACK_LABEL = "com.docker.stack.namespace"
# A paused update (Docker's default reaction to a failed one) or a rollback is not a converged service.
UPDATE_DONE = (None, "", "completed")


def service_state(service, tasks):
    """{desired, running, updating, last_error, states} of one service from its spec and its tasks."""
    attrs = service.attrs
    mode = attrs.get("Spec", {}).get("Mode", {})
    wanted = [t for t in tasks if t.get("DesiredState") == "running"]
    if "Replicated" in mode:
        desired = int(mode["Replicated"].get("Replicas", 1))
    else:  # global: the scheduler makes one task per eligible node
        desired = len(wanted)
    running = len([t for t in wanted if (t.get("Status") or {}).get("State") == "running"])
    errors = sorted((t for t in tasks if (t.get("Status") or {}).get("Err")),
                    key=lambda t: (t.get("Status") or {}).get("Timestamp") or t.get("UpdatedAt") or "")
    states = sorted(set((t.get("Status") or {}).get("State") or "unknown" for t in wanted))
    update = attrs.get("UpdateStatus") or {}
    updating = update.get("State") not in UPDATE_DONE
    last_error = errors[-1]["Status"]["Err"] if errors else None
    if updating and update.get("Message"):
        last_error = "%s (update %s: %s)" % (last_error, update.get("State"), update["Message"]) if last_error \
            else "update %s: %s" % (update.get("State"), update["Message"])
    return {"desired": desired, "running": running, "updating": updating, "last_error": last_error,
            "states": states}


def converged(state):
    return state["running"] == state["desired"] and state["desired"] > 0 and not state["updating"]


def why(name, state):
    if state is None:
        return "%s: no such service in the stack" % name
    reason = "%d/%d tasks running" % (state["running"], state["desired"])
    if state["updating"]:
        reason += ", update in progress"
    if state["states"]:
        reason += ", task states %s" % ",".join(state["states"])
    if state["last_error"]:
        reason += ", last task error: %s" % state["last_error"]
    return "%s: %s" % (name, reason)


def read(client, stack, wanted, expected=None):
    found = {}
    for service in client.services.list(filters={"label": "%s=%s" % (STACK_LABEL, stack)}):
        found[service.name] = service_state(service, service.tasks())
        short = service.name[len(stack) + 1:] if service.name.startswith(stack + "_") else service.name
        if short in (expected or {}):
            found[service.name]["desired"] = max(found[service.name]["desired"], int(expected[short]))
    names = sorted(found) if wanted is None else ["%s_%s" % (stack, s) for s in wanted]
    return dict((n, found.get(n)) for n in names)


def main():
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(
        stack=dict(type="str", required=True),
        services=dict(type="list", elements="str"),
        expected_tasks=dict(type="dict", default={}),
        timeout=dict(type="int", default=180),
        interval=dict(type="float", default=2),
        reads=dict(type="int", default=2),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = docker_client(module)
    require_swarm_manager(module, client)
    started = time.time()
    deadline = started + max(0, module.params["timeout"])
    # Converged in `reads` reads in a row (two after a deploy: the updater may not have begun, and a task that
    # crash-loops can be running at one instant).
    reads = max(1, module.params["reads"])
    streak = 0
    while True:
        try:
            states = read(client, module.params["stack"], module.params["services"], module.params["expected_tasks"])
        except DockerException as exc:
            module.fail_json(msg="cannot read the services of stack %s: %s" % (module.params["stack"], exc))
        pending = [n for n, s in states.items() if s is None or not converged(s)]
        if not states:
            pending = [None]
        streak = 0 if pending else streak + 1
        if streak >= reads or module.check_mode or time.time() >= deadline:
            break
        time.sleep(module.params["interval"])
    result = dict(changed=False, converged=not pending, waited=round(time.time() - started, 1),
                  services=dict((n, dict((k, v) for k, v in s.items() if k != "states")) for n, s in states.items()
                                if s is not None))
    if pending and not module.check_mode:
        module.fail_json(msg="stack %s did not converge within %d s: %s" % (
            module.params["stack"], module.params["timeout"],
            "; ".join(why(n, states.get(n)) if n else "it has no services" for n in pending)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
