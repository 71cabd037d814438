# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup hooks in the application's own container, wherever Swarm runs it (docs/backup.md, "Hooks").

A backup service runs on one node; the application it backs up may run on any other. Docker runs a command in a
container only through that container's own engine, and scales a service only through a manager's. So the backup
stack runs a hook agent on every member node (``backup-runner hook-agent``, with that node's Docker socket), reached
over the stack's overlay network behind the cluster's HTTP credentials. An agent does only what the inventory
configured (BACKUP_HOOKS): it runs a namespace's ``pre`` or ``post`` command in a running container of that
namespace's service, if one runs on its node, and scales that service, if its node is a manager. A caller names a
namespace and a phase, never a command or a service.

The backup service's side (``call``) asks every agent (``tasks.<agent service>`` resolves to all of them): the one
whose node runs the container answers, the others say it is not there.

Python 3 standard library only: the Docker Engine API over its Unix socket, http.server for the agent.
"""

import base64
import hmac
import http.client
import http.server
import json
import os
import socket
import struct
import time
import urllib.error
import urllib.request

DOCKER_SOCKET = "/var/run/docker.sock"
API = "/v1.41"  # Docker 20.10's API version, understood by every newer engine
OUTPUT_LIMIT = 4000
SCALE_WAIT_SECONDS = 180


class HookError(Exception):
    """A hook, a scale or the agent failed; the message says which and why."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def docker(method, path, body=None, timeout=60, raw=False, socket_path=None):
    """One Docker Engine API call; the decoded JSON answer (or the raw bytes)."""
    conn = _UnixConnection(socket_path or os.environ.get("BACKUP_DOCKER_SOCKET", DOCKER_SOCKET), timeout)
    try:
        conn.request(method, API + path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
    except OSError as exc:
        raise HookError("the Docker engine did not answer %s %s: %s" % (method, path.split("?")[0], exc)) from None
    finally:
        conn.close()
    if resp.status >= 400:
        raise HookError("the Docker engine refused %s %s (%d): %s" % (
            method, path.split("?")[0], resp.status, data.decode("utf-8", "replace").strip()[:300]))
    if raw:
        return data
    return json.loads(data) if data.strip() else None


def _query(filters):
    return "filters=" + urllib.request.quote(json.dumps(filters))


def running_container(service):
    """The ID of a running container of Swarm service ``service`` on this node, or None."""
    found = docker("GET", "/containers/json?" + _query({"label": ["com.docker.swarm.service.name=" + service],
                                                        "status": ["running"]}))
    return found[0]["Id"] if found else None


def demux(stream):
    """Docker's multiplexed exec output (8-byte frame headers) as text, stdout and stderr in order."""
    out, pos = [], 0
    while pos + 8 <= len(stream):
        size = struct.unpack(">I", stream[pos + 4:pos + 8])[0]
        out.append(stream[pos + 8:pos + 8 + size])
        pos += 8 + size
    return b"".join(out).decode("utf-8", "replace")


def exec_in(container, command, timeout):
    """Run ``sh -c command`` in ``container``; (exit code, the output's last OUTPUT_LIMIT characters)."""
    created = docker("POST", "/containers/%s/exec" % container,
                     {"Cmd": ["sh", "-c", command], "AttachStdout": True, "AttachStderr": True})
    raw = docker("POST", "/exec/%s/start" % created["Id"], {"Detach": False, "Tty": False}, timeout=timeout,
                 raw=True)
    # The stream ends when the command does; its exit code may be recorded a moment later.
    for _attempt in range(50):
        state = docker("GET", "/exec/%s/json" % created["Id"])
        if not state.get("Running"):
            return state.get("ExitCode"), demux(raw)[-OUTPUT_LIMIT:]
        time.sleep(0.1)
    return None, demux(raw)[-OUTPUT_LIMIT:]


def is_manager():
    return bool((docker("GET", "/info").get("Swarm") or {}).get("ControlAvailable"))


# A task in one of these states may have a container that runs (or is about to): scaling down waits until none is.
LIVE_STATES = ("new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running")


def task_counts(service):
    """(tasks Swarm wants running that run, tasks whose container may still run whatever Swarm wants of them).

    A task scaled away is no longer wanted at once, but its container runs until it has stopped (its stop grace
    period): the second count is what tells that the application has really stopped."""
    tasks = docker("GET", "/tasks?" + _query({"service": [service]}))
    state = [((t.get("Status") or {}).get("State"), t.get("DesiredState")) for t in tasks]
    return (sum(1 for now, wanted in state if now == "running" and wanted == "running"),
            sum(1 for now, _wanted in state if now in LIVE_STATES))


def scale(service, down, label, wait=SCALE_WAIT_SECONDS):
    """Scale replicated service ``service`` down to 0 (``down``) or back up to its former count, and wait until it
    runs that many tasks; (count before, count now).

    The former count is kept on the service itself, as label ``label``, set in the same update that scales it to 0
    and removed in the one that scales it back: a backup killed in between leaves it there, and the next backup's
    scale up (it scales up first) brings the service back. Scaling down a service already down keeps the first
    count; scaling up one that carries no label changes nothing."""
    current = docker("GET", "/services/%s" % urllib.request.quote(service, safe=""))
    spec = current["Spec"]
    mode = spec.get("Mode") or {}
    if "Replicated" not in mode:
        raise HookError("service %s is not replicated (%s), so it cannot be scaled to 0; set scale_to_zero: false"
                        % (service, ", ".join(mode) or "no mode"))
    labels = spec.setdefault("Labels", {})
    now = int(mode["Replicated"].get("Replicas", 1))
    kept = labels.get(label)
    if down:
        before, target = (int(kept) if kept and kept.isdigit() else now), 0
        labels[label] = str(before)
    else:
        if kept is None or not kept.isdigit():
            return now, now
        before, target = now, int(kept)
        labels.pop(label)
    mode["Replicated"]["Replicas"] = target
    docker("POST", "/services/%s/update?version=%d" % (current["ID"], current["Version"]["Index"]), spec)
    deadline = time.time() + wait
    # Down: until no container of the service may still run (the application has stopped, not only been told to).
    # Up: until it runs its former count of tasks.
    while (task_counts(service)[1] != 0) if down else (task_counts(service)[0] != target):
        if time.time() > deadline:
            raise HookError("service %s does not run %d task(s) %d s after it was scaled %s" % (
                service, target, wait, "down to 0" if down else "back to %d" % target))
        time.sleep(1)
    return before, target


# --- the agent -----------------------------------------------------------------------------------------------------


def _authorized(header, password):
    expected = "Basic " + base64.b64encode(("swarmdata:%s" % password).encode()).decode()
    return bool(password) and hmac.compare_digest((header or "").encode(), expected.encode())


def handle(request, config, label="swarmdata.backup-scaled-from"):
    """The agent's answer to one request: (HTTP status, JSON-able body). ``config``: BACKUP_HOOKS, per namespace;
    ``label``: the service label that keeps a scaled-down service's former count."""
    hooks = config.get(request.get("namespace"))
    if not hooks:
        return 404, {"error": "no hooks are configured for namespace %r" % request.get("namespace")}
    service = hooks["service"]
    node = socket.gethostname()
    action = request.get("action")
    if action in ("pre", "post"):
        command = hooks.get(action)
        if not command:
            return 404, {"error": "namespace %s has no %s hook" % (request["namespace"], action)}
        container = running_container(service)
        if not container:
            return 404, {"error": "no running container of %s on %s" % (service, node), "not_here": True}
        code, output = exec_in(container, command, hooks.get("timeout", 600))
        return 200, {"node": node, "container": container[:12], "exit_code": code, "output": output}
    if action in ("scale_down", "scale_up"):
        if not hooks.get("scale_to_zero"):
            return 403, {"error": "namespace %s does not scale %s" % (request["namespace"], service)}
        if not is_manager():
            return 503, {"error": "%s is not a swarm manager" % node, "not_here": True}
        before, now = scale(service, action == "scale_down", label)
        return 200, {"node": node, "before": before, "replicas": now}
    return 400, {"error": "unknown action %r" % action}


class _Agent(http.server.BaseHTTPRequestHandler):
    config = {}
    password = None
    label = None

    def log_message(self, fmt, *args):  # one line per request on stderr, no client address noise
        print("hook-agent: " + fmt % args, flush=True)

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 - http.server's name
        if not _authorized(self.headers.get("Authorization"), self.password):
            self._answer(401, {"error": "the cluster's HTTP credentials are needed"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
            status, body = handle(request if isinstance(request, dict) else {}, self.config, self.label)
        except (HookError, ValueError, KeyError) as exc:
            status, body = 500, {"error": str(exc)}
        self._answer(status, body)


def serve_agent(port, config, password, label):
    """Serve the agent until killed (one thread per request: a long hook does not block a scale)."""
    if not password:
        raise HookError("the hook agent needs the cluster's HTTP credentials (BACKUP_HTTP_PASSWORD_FILE)")
    handler = type("Agent", (_Agent,), {"config": config, "password": password, "label": label})
    server = http.server.ThreadingHTTPServer(("", port), handler)
    print("hook-agent: on %s, port %d, namespaces %s" % (socket.gethostname(), port, ", ".join(sorted(config))),
          flush=True)
    server.serve_forever()


# --- the backup service's side -------------------------------------------------------------------------------------


def agents(name, port):
    """Every agent's address: the stack's DNS name tasks.<service> resolves to one address per task."""
    try:
        found = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HookError("the hook agents (%s) cannot be found: %s" % (name, exc)) from None
    return sorted(set(info[4][0] for info in found))


def _post(address, port, body, password, timeout):
    request = urllib.request.Request(
        "http://%s:%d/" % (address, port), data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " + base64.b64encode(("swarmdata:%s" % password).encode()).decode()})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - the stack's own agent
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {"error": str(exc)}
    except TimeoutError:
        # Connected, then no answer in time: the agent may still be running the command. Never a miss, which would
        # ask the next agent (a second pre in another replica).
        return "timeout", {"error": "the hook agent at %s did not answer within %d s; the command may still be "
                                    "running there" % (address, timeout)}
    except (OSError, ValueError) as exc:
        return None, {"error": "%s: %s" % (address, exc)}


def call(name, port, body, password, timeout):
    """Ask every agent; the answer of the one that did it. Fails where none could (the service runs nowhere, no
    manager answered) or where the one that did reports an error."""
    misses = []
    for address in agents(name, port):
        status, answer = _post(address, port, body, password, timeout)
        if status == 200:
            return answer
        if status == "timeout":
            raise HookError(answer["error"])
        if status is None or answer.get("not_here"):
            misses.append(answer.get("error", "?"))
            continue
        raise HookError(answer.get("error") or "the hook agent answered %s" % status)
    raise HookError("no hook agent could %s (%s)" % (
        "scale the service" if body.get("action", "").startswith("scale") else "run the %s hook" % body.get("action"),
        "; ".join(misses) or "no agent found"))
