"""Each variant checks its deployment against the plan and returns (writer, readers, namespace_path).

Names come from the plan (``lookup('swarmdata.replication.topology')``, see lab.load_plan): hosts, primary,
replicas, root, namespaces, each replica's receiver service, the GlusterFS volume and mount; the stack name
from the variant role's variable. The writer and the readers are lab containers (``plan.containers``). The
phases take exactly what a variant returns and know nothing about it.
"""

import json
import xml.etree.ElementTree as ET

from bench.lab import BenchError, dx, dx_ok, namespace_path, run, run_job


def require_running(node):
    state = run(["docker", "inspect", "-f", "{{.State.Running}}", node], check=False).strip()
    if state != "true":
        raise BenchError("lab node %s is not running (docker inspect: %s); start the lab with scripts/lab.sh"
                         % (node, state or "no such container"))


def container(plan, name):
    """The lab container of an inventory host (a container name is taken as it is)."""
    if name in plan["containers"]:
        return plan["containers"][name]
    if name in plan["containers"].values():
        return name
    raise BenchError("%s is neither a host of the plan nor its container (hosts: %s)" % (
        name, ", ".join(plan["hosts"])))


def host_of(plan, name):
    for host, cont in plan["containers"].items():
        if name in (host, cont):
            return host
    return name


def swarm(plan, services):
    """The named services' desired/running tasks and env, and the nodes, from the first manager's Docker API."""
    manager = container(plan, plan["first_manager"])
    require_running(manager)
    return run_job(manager, {"op": "swarm", "services": list(services)}, 60)


def converged(state, name):
    svc = state["services"].get(name)
    return svc is not None and svc["desired"] > 0 and svc["running"] == svc["desired"]


def svc_state(state, name):
    svc = state["services"].get(name)
    return "absent" if svc is None else "%d/%d" % (svc["running"], svc["desired"])


def variant_bind(bench, plan):
    """Checks the bind stack; the writer is the primary, the readers the replicas with a receiver."""
    opts = bench.opts
    primary_host = host_of(plan, opts.primary) if opts.primary else plan["primary"]
    if primary_host != plan["primary"]:
        raise BenchError("%s is not the plan's primary (%s)" % (opts.primary, plan["primary"]))
    stack = opts.stack or plan["stacks"]["bind"]
    receivers = {h: "%s_%s" % (stack, plan["nodes"][h]["receiver"]) for h in plan["replicas"]
                 if plan["nodes"][h].get("receiver")}
    reader_hosts = [host_of(plan, r) for r in opts.replicas] if opts.replicas else list(receivers)
    for host in reader_hosts:
        if host not in receivers:
            raise BenchError("%s has no receiver in the plan (replicas: %s)" % (host, ", ".join(receivers)))
    primary = container(plan, primary_host)
    readers = [container(plan, h) for h in reader_hosts]
    for node in [primary] + readers:
        require_running(node)
    sender = "%s_sender" % stack
    state = swarm(plan, [sender] + list(receivers.values()))
    if not converged(state, sender):
        raise BenchError("the bind stack is not running: the swarm shows %s as %s, expected 1/1. Deploy it "
                         "(scripts/lab.sh) and wait until the sender runs." % (sender, svc_state(state, sender)))
    down = ["%s (%s)" % (receivers[h], svc_state(state, receivers[h])) for h in reader_hosts
            if not converged(state, receivers[h])]
    if not receivers or down:
        raise BenchError("bind receivers not ready: %s" % (", ".join(down) or "none in stack %s" % stack))
    path = namespace_path(plan, opts.namespace)
    for node in [primary] + readers:
        if not dx_ok(node, ["test", "-d", path]):
            raise BenchError("%s has no namespace directory %s" % (node, path))
    env = state["services"][sender]["env"]
    root = plan["root"].rstrip("/")

    def probe():
        out = {}
        for host, node in zip(reader_hosts, readers, strict=True):
            text = dx(primary, ["cat", "%s/state/bind/%s/%s.json" % (root, host, opts.namespace)], check=False)
            if text.strip():
                out[node] = json.loads(text)
        return out

    bench.status_probe = probe
    bench.meta.update({
        "variant": "bind", "swarm_nodes": len(state["nodes"]), "writer": primary, "readers": readers,
        "namespace_path": path,
        "variant_settings": "batch delay %s s, full reconcile every %s s" % (
            env.get("MOVER_DELAY", "?"), env.get("MOVER_RECONCILE_INTERVAL", "?")),
    })
    return primary, readers, path


def variant_glusterfs(bench, plan):
    """Checks the volume and the mounts; the writer writes through its own mount, readers read through theirs."""
    opts = bench.opts
    gluster = plan.get("gluster")
    if not gluster:
        raise BenchError("the plan's variant is %s, not glusterfs (replication_variant)" % plan["variant"])
    writer = container(plan, opts.primary or plan["hosts"][0])
    require_running(writer)
    info = dx(writer, ["gluster", "--mode=script", "volume", "info", gluster["volume"], "--xml"], check=False)
    try:
        volumes = ET.fromstring(info).findall(".//volume")
    except ET.ParseError:
        volumes = []
    if not volumes:
        raise BenchError("%s has no GlusterFS volume %s (gluster volume info: %s); deploy the glusterfs variant with "
                         "scripts/lab.sh -e replication_variant=glusterfs" % (writer, gluster["volume"],
                                                                              info.strip()[:200]))
    volume = volumes[0]
    if volume.findtext("statusStr") != "Started":
        raise BenchError("volume %s is %s, not Started" % (volume.findtext("name"), volume.findtext("statusStr")))
    brick_hosts = list(dict.fromkeys(b["host"] for b in gluster["bricks"]))
    readers = ([container(plan, r) for r in opts.replicas] if opts.replicas
               else [container(plan, h) for h in brick_hosts if container(plan, h) != writer])
    mount = gluster["mount"]
    path = namespace_path(plan, opts.namespace)
    for node in [writer] + readers:
        if not dx_ok(node, ["findmnt", "--types", "fuse.glusterfs", "--mountpoint", mount]):
            raise BenchError("%s has no GlusterFS mount at %s" % (node, mount))
        if not dx_ok(node, ["test", "-d", path]):
            raise BenchError("%s has no namespace directory %s" % (node, path))
    options = dict((o.findtext("name"), o.findtext("value")) for o in volume.iter("option"))
    bench.meta.update({
        "variant": "glusterfs", "swarm_nodes": len(swarm(plan, [])["nodes"]), "writer": writer, "readers": readers,
        "namespace_path": path,
        "variant_settings": "volume %s, %s x %s bricks, FUSE mount on every node, quorum %s" % (
            volume.findtext("name"), volume.findtext("typeStr"), volume.findtext("brickCount"),
            options.get("cluster.quorum-type", "default")),
    })
    return writer, readers, path


def variant_p2p(bench, plan):
    """Checks the Syncthing service; the writer writes in its namespace directory, the other peers are readers."""
    opts = bench.opts
    writer = container(plan, opts.primary or plan["hosts"][0])
    require_running(writer)
    service = "%s_syncthing" % (opts.stack or plan["stacks"]["p2p"])
    state = swarm(plan, [service])
    if not converged(state, service):
        raise BenchError("the p2p service %s is not running everywhere (%s); deploy it with "
                         "scripts/lab.sh -e replication_variant=p2p" % (service, svc_state(state, service)))
    readers = ([container(plan, r) for r in opts.replicas] if opts.replicas
               else [container(plan, h) for h in plan["hosts"] if container(plan, h) != writer])
    path = namespace_path(plan, opts.namespace)
    for node in [writer] + readers:
        if not dx_ok(node, ["test", "-d", path + "/.stfolder"]):
            raise BenchError("%s has no Syncthing folder at %s (no .stfolder marker)" % (node, path))
    config = dx(writer, ["cat", "%s/state/syncthing/config.xml" % plan["root"].rstrip("/")], check=False)
    try:
        folder = [f for f in ET.fromstring(config).iter("folder") if f.get("id") == opts.namespace][0]
        settings = "watcher delay %s s, rescan every %s s" % (
            folder.get("fsWatcherDelayS"), folder.get("rescanIntervalS"))
    except (ET.ParseError, IndexError):
        settings = "configuration not readable"
    bench.meta.update({
        "variant": "p2p", "swarm_nodes": len(state["nodes"]), "writer": writer, "readers": readers,
        "namespace_path": path,
        "variant_settings": "Syncthing on every node (global service), %s" % settings,
    })
    return writer, readers, path


VARIANTS = {"bind": variant_bind, "glusterfs": variant_glusterfs, "p2p": variant_p2p}
