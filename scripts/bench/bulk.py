"""Phase 2, bulk throughput: mixed random files, a bare rsync -a over SSH as the baseline, then replication."""

import json
import os
import shlex
import time

from bench.core import fmt_mib, fmt_s, runs_delta, verify_same
from bench.lab import MIB, BenchError, dx, parallel, run, run_job


def bulk_plan(mib):
    """Half the bytes in large files (64 MiB, smaller for small runs), 3/8 in 1 MiB, 1/8 in 16 KiB."""
    large = 64 if mib >= 256 else max(1, mib // 4)
    n_large = (mib // 2) // large
    rest = mib - n_large * large
    n_medium = (rest * 3) // 4
    n_small = (rest - n_medium) * 64
    groups = []
    if n_large:
        groups.append(["large", n_large, large * MIB, 16])
    if n_medium:
        groups.append(["medium", n_medium, MIB, 64])
    if n_small:
        groups.append(["small", n_small, 16 * 1024, 256])
    return groups


def ssh_baseline_setup(bench, writer_node, target_node):
    """A temporary key in the writer, authorized on the target's own sshd; known_hosts from ssh-keyscan,
    checked against the target's host key read with docker exec (one key per target). Returns (ssh command,
    address)."""
    known = bench.__dict__.setdefault("ssh_setups", {})
    if target_node not in known:
        known[target_node] = _ssh_setup(bench, writer_node, target_node)
    return known[target_node]


def _ssh_setup(bench, writer_node, target_node):
    opts = bench.opts
    nets = json.loads(run(["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", target_node]))
    network = opts.lab_network or (next(iter(nets)) if len(nets) == 1 else None)
    if network is None:
        raise BenchError("%s is on networks %s: name the lab network with --lab-network" % (
            target_node, ", ".join(sorted(nets))))
    address = (nets.get(network) or {}).get("IPAddress")
    if not address:
        raise BenchError("%s has no address on network %s (--lab-network)" % (target_node, network))
    key = "/root/.ssh/bench_%d_%s" % (bench.pid, target_node)
    known_hosts = key + ".known_hosts"
    bench.on_cleanup("temporary key %s and its known_hosts removed on %s" % (key, writer_node),
                     lambda: dx(writer_node, ["rm", "-f", key, key + ".pub", known_hosts]))
    dx(writer_node, ["sh", "-c", "umask 077 && mkdir -p /root/.ssh"])
    dx(writer_node, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", bench.tag, "-f", key])
    public = dx(writer_node, ["cat", key + ".pub"]).strip()
    state = {"existed": True}  # until known otherwise, never delete the file, only our line
    bench.on_cleanup("temporary key removed from %s:/root/.ssh/authorized_keys" % target_node,
                     lambda: run_job(target_node, {"op": "authkey", "action": "remove", "marker": bench.tag,
                                                   "existed": state["existed"]}, 60))
    state["existed"] = run_job(target_node, {"op": "authkey", "action": "add", "line": public}, 60)["existed"]
    scanned = dx(writer_node, ["ssh-keyscan", "-T", "10", "-t", "ed25519", address], timeout=60)
    scanned = [line.split() for line in scanned.splitlines() if line.strip() and not line.startswith("#")]
    actual = dx(target_node, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).split()[:2]
    if not scanned or scanned[0][1:3] != actual:
        raise BenchError("ssh-keyscan of %s does not match %s's host key" % (address, target_node))
    dx(writer_node, ["sh", "-c", "umask 077 && cat > %s" % shlex.quote(known_hosts)],
       input_text=" ".join(scanned[0]) + "\n")
    ssh = ("ssh -i %s -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes "
           "-o UserKnownHostsFile=%s -o ConnectTimeout=10" % (key, known_hosts))
    dx(writer_node, shlex.split(ssh) + ["root@" + address, "true"], timeout=60)
    return ssh, address


def phase_bulk(bench, writer_node, reader_nodes, namespace_path):
    """`bulk-mib` of mixed random files staged outside the namespace, then (a) bare rsync -a over SSH
    to the first reader (baseline), (b) moved into the namespace: until complete on all readers."""
    opts = bench.opts
    stage = "/var/tmp/bench-stage-%d" % bench.pid
    scratch = "/var/tmp/bench-baseline-%d" % bench.pid
    rel_dir = "%s/bulk" % bench.dirname
    bench.on_cleanup("staging dir %s removed on %s" % (stage, writer_node),
                     lambda: dx(writer_node, ["rm", "-rf", "--one-file-system", stage], timeout=300))
    groups = bulk_plan(opts.bulk_mib)
    composition = ", ".join("%d x %s" % (count, fmt_mib(size)) for _name, count, size, _per_dir in groups)
    bench.log("bulk: staging %d MiB on %s (%s)" % (opts.bulk_mib, writer_node, composition))
    staged = run_job(writer_node, {"op": "stage", "root": stage, "groups": groups}, opts.timeout)
    files = staged["files"]
    total = sum(size for _rel, size in files)
    print("  staged %s in %d files (%s) in %.1f s, outside the namespace: %s" % (
        fmt_mib(total), len(files), composition, staged["seconds"], stage))
    result = {"bytes": total, "files": len(files), "composition": composition}

    # (a) baseline: bare rsync -a over SSH, writer -> first reader, through the nodes' own sshd
    target = reader_nodes[0]
    try:
        ssh, address = ssh_baseline_setup(bench, writer_node, target)
        bench.on_cleanup("baseline scratch dir %s removed on %s" % (scratch, target),
                         lambda: dx(target, ["rm", "-rf", "--one-file-system", scratch], timeout=300))
        bench.log("bulk: baseline rsync -a over ssh %s -> %s (%s)" % (writer_node, target, address))
        res = run_job(writer_node, {"op": "run", "argv": ["rsync", "-a", "-e", ssh, stage + "/",
                                                          "root@%s:%s/" % (address, scratch)]}, opts.timeout)
        if res["rc"] != 0:
            raise BenchError("baseline rsync failed (exit %d): %s" % (res["rc"], res["stderr"].strip()))
        seconds = res["t1"] - res["t0"]
        ok, message = verify_same(bench, writer_node, [target], {writer_node: stage, target: scratch}, "baseline")
        result["baseline"] = {"target": target, "seconds": seconds, "mib_s": total / MIB / seconds,
                              "verified": ok}
        print("  (a) baseline  bare rsync -a over ssh to 1 node (%s): %.2f s, %.1f MiB/s; %s" % (
            target, seconds, total / MIB / seconds, "verified" if ok else message))
        dx(target, ["rm", "-rf", "--one-file-system", scratch], timeout=300)
        dx(target, ["sync", "-f", "/var/tmp"], timeout=300)
    except BenchError as exc:
        result["baseline"] = {"error": str(exc)}
        print("  (a) baseline FAILED: %s" % exc)

    # (a2) the same bare rsync to every reader at once: what the machine gives several streams side by side
    if len(reader_nodes) > 1 and "mib_s" in result["baseline"]:
        try:
            result["baseline_parallel"] = parallel_baseline(bench, writer_node, reader_nodes, stage, scratch, total)
        except BenchError as exc:
            result["baseline_parallel"] = {"error": str(exc)}
            print("  (a2) parallel baseline FAILED: %s" % exc)

    # (b) replication: the staged tree renamed into the namespace, until every file is whole on every reader
    time.sleep(opts.settle)
    bench.watch(reader_nodes, ["W %s/%s %d -" % (rel_dir, rel, size) for rel, size in files])
    before = bench.status()
    bench.log("bulk: moving the staged tree into the namespace; waiting for %d readers" % len(reader_nodes))
    moved = run_job(writer_node, {"op": "rename", "src": stage, "dst": os.path.join(namespace_path, rel_dir)},
                    opts.timeout)
    keys = ["F:%s/%s" % (rel_dir, rel) for rel, _data in files]
    seen = bench.wait(reader_nodes, keys, opts.timeout, "bulk")
    after = bench.status()
    done = {n: max(seen[n].values()) - moved["t0"] for n in reader_nodes}
    seconds = max(done.values())
    per_replica = total / MIB / seconds
    paths = {n: os.path.join(namespace_path, rel_dir) for n in [writer_node] + reader_nodes}
    ok, message = verify_same(bench, writer_node, reader_nodes, paths, "bulk")
    result["replication"] = {"seconds": seconds, "per_reader_s": done, "mib_s_per_reader": per_replica,
                             "mib_s_aggregate": per_replica * len(reader_nodes), "how": moved["how"],
                             "verified": ok, "replication_runs": runs_delta(before, after)}
    print("  (b) replication  %s into the namespace -> complete on all %d readers: %.2f s, %.1f MiB/s per reader "
          "(%.1f MiB/s aggregate, %d copies in parallel)" % (
              "mv" if moved["how"] == "rename" else "cp -a", len(reader_nodes), seconds, per_replica,
              per_replica * len(reader_nodes), len(reader_nodes)))
    print("      complete after: %s" % ", ".join("%s %.2f s" % (n, done[n]) for n in reader_nodes))
    runs = result["replication"]["replication_runs"]
    if runs:
        print("      replication runs (its status): %s" % ", ".join(
            "%s %d" % (n, runs[n]) for n in reader_nodes if n in runs))
    # bind: the sender's own record of its last transfer to each reader, against the move. It splits the time into
    # the batch's start, the rsync itself, and the readers' pollers seeing the result.
    last = dict((n, after[n]) for n in reader_nodes if after and (after.get(n) or {}).get("last_success"))
    if last:
        result["replication"]["last_transfer"] = dict(
            (n, {"start_s": e["last_attempt"] - moved["t0"], "end_s": e["last_success"] - moved["t0"]})
            for n, e in last.items())
        print("      its last transfer to each reader (the sender's status), from the move: %s" % ", ".join(
            "%s %.2f to %.2f s" % (n, e["last_attempt"] - moved["t0"], e["last_success"] - moved["t0"])
            for n, e in last.items()))
    print("      %s" % message)
    base = result.get("baseline", {})
    if "mib_s" in base:
        result["ratio_per_reader"] = per_replica / base["mib_s"]
        result["ratio_aggregate"] = per_replica * len(reader_nodes) / base["mib_s"]
        print("  ratio replication/baseline: %.2f per reader, %.2f aggregate (replication feeds %d readers "
              "at once, the baseline 1)" % (result["ratio_per_reader"], result["ratio_aggregate"],
                                            len(reader_nodes)))
    both = result.get("baseline_parallel", {})
    if "seconds" in both:
        result["ratio_parallel"] = both["seconds"] / seconds
        print("  ratio replication/parallel baseline (the same %d streams side by side): %.2f" % (
            len(reader_nodes), result["ratio_parallel"]))
    result["delete_s"] = bench.remove_and_wait(writer_node, reader_nodes, os.path.join(namespace_path, rel_dir),
                                               rel_dir, "bulk cleanup")
    print("  delete of the bulk tree on the writer gone on all readers after %s" % fmt_s(result["delete_s"]))
    if not ok:
        raise BenchError(message)
    return result


def parallel_baseline(bench, writer_node, reader_nodes, stage, scratch, total):
    """Bare rsync -a over SSH of the staged tree from the writer to every reader at once, each to a scratch dir."""
    seconds, ok, message = rsync_to_every_reader(bench, writer_node, reader_nodes, stage, scratch, "bulk")
    print("  (a2) baseline bare rsync -a over ssh to all %d readers at once: %.2f s, %.1f MiB/s aggregate; %s" % (
        len(reader_nodes), seconds, total * len(reader_nodes) / MIB / seconds, "verified" if ok else message))
    for target in reader_nodes:
        dx(target, ["sync", "-f", "/var/tmp"], timeout=300)
    return {"seconds": seconds, "mib_s_aggregate": total * len(reader_nodes) / MIB / seconds, "verified": ok}


def rsync_to_every_reader(bench, writer_node, reader_nodes, src, scratch, what):
    """Bare rsync -a over SSH of ``src`` from the writer to ``scratch`` on every reader at once, checked by md5
    and removed again: (seconds from the first start to the last end, verified, message). Shared by the bulk and
    tree phases' baselines."""
    opts = bench.opts
    argvs = {}
    for target in reader_nodes:
        ssh, address = ssh_baseline_setup(bench, writer_node, target)
        bench.on_cleanup("%s baseline scratch dir %s removed on %s" % (what, scratch, target),
                         lambda t=target: dx(t, ["rm", "-rf", "--one-file-system", scratch], timeout=300))
        argvs[target] = ["rsync", "-a", "-e", ssh, src + "/", "root@%s:%s/" % (address, scratch)]
    bench.log("%s: baseline rsync -a over ssh %s -> %s at once" % (what, writer_node, ", ".join(reader_nodes)))
    results = parallel([lambda t=t: run_job(writer_node, {"op": "run", "argv": argvs[t]}, opts.timeout)
                        for t in reader_nodes])
    for target, res in zip(reader_nodes, results, strict=True):
        if res["rc"] != 0:
            raise BenchError("%s baseline rsync to %s failed (exit %d): %s" % (
                what, target, res["rc"], res["stderr"].strip()))
    seconds = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    ok, message = verify_same(bench, writer_node, reader_nodes, dict([(writer_node, src)] + [
        (t, scratch) for t in reader_nodes]), "%s baseline" % what)
    for target in reader_nodes:
        dx(target, ["rm", "-rf", "--one-file-system", scratch], timeout=300)
    return seconds, ok, message
