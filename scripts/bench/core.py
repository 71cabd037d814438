"""What every phase shares: the run's state and cleanups (Bench), waiting on the readers' pollers, checksums
of a tree on several nodes, and the figures' formatting."""

import hashlib
import os
import time

from bench.lab import MIB, BenchError, PhaseTimeout, dx, kill_children, parallel, run_job


class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.pid = os.getpid()
        self.tag = "swarmdata-bench-%d" % self.pid
        self.dirname = ".bench-%d" % self.pid
        self.pollers = {}
        self.cleanups = []
        self.started = time.monotonic()
        self.plan = None  # the plan (lab.load_plan), once read
        self.status_probe = None  # variant hook: {reader: {...}} of the replication's own status, or None
        self.meta = {}

    def log(self, msg):
        print("[%7.1fs] %s" % (time.monotonic() - self.started, msg), flush=True)

    def on_cleanup(self, label, fn):
        self.cleanups.append((label, fn))

    def cleanup(self):
        for label, fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                print("cleanup: %s FAILED: %s" % (label, exc), flush=True)
            else:
                print("cleanup: %s" % label, flush=True)
        self.cleanups = []
        kill_children()

    # --- waiting on the pollers
    def watch(self, readers, lines):
        for node in readers:
            self.pollers[node].send(lines)
        for node in readers:
            self.pollers[node].barrier()

    def wait(self, readers, keys, timeout, what):
        """Wait until every reader reported every key; returns {reader: {key: time}}."""
        deadline = time.monotonic() + timeout
        for node in readers:
            poller = self.pollers[node]
            with poller.cond:
                while True:
                    missing = [k for k in keys if k not in poller.seen]
                    if not missing:
                        break
                    if poller.exited:
                        raise BenchError("poller on %s exited: %s" % (node, " ".join(poller.errors)[-800:]))
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    poller.cond.wait(min(left, 0.25))
        misses = []
        for node in readers:
            poller = self.pollers[node]
            with poller.cond:
                missing = [k for k in keys if k not in poller.seen]
            if missing:
                detail = poller.pending()
                misses.append("%s missed %d of %d: %s" % (node, len(missing), len(keys), "; ".join(detail)))
        if misses:
            for node in readers:
                self.pollers[node].send(["X"])
            raise PhaseTimeout("%s: timed out after %ds\n    %s" % (what, timeout, "\n    ".join(misses)))
        result = {}
        for node in readers:
            with self.pollers[node].cond:
                result[node] = {k: self.pollers[node].seen[k] for k in keys}
        return result

    def remove_and_wait(self, writer, readers, path, rel, what):
        """Delete path on the writer; seconds until it is gone on every reader (None: not within the
        timeout; the final cleanup removes what is left)."""
        self.watch(readers, ["G " + rel])
        t0 = time.time()
        dx(writer, ["rm", "-rf", "--one-file-system", path], timeout=self.opts.timeout)
        try:
            seen = self.wait(readers, ["G:" + rel], self.opts.timeout, what)
        except PhaseTimeout as exc:
            print("  %s" % exc, flush=True)
            return None
        return max(s["G:" + rel] for s in seen.values()) - t0

    def status(self):
        if self.status_probe is None:
            return None
        try:
            return self.status_probe()
        except BenchError as exc:
            self.log("status probe failed: %s" % exc)
            return None


def percentile(values, q):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-q * len(ordered) // 100))
    return ordered[int(rank) - 1]


def stats(values):
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95), "max": max(values),
            "mean": sum(values) / len(values), "min": min(values)}


def fmt_stats(s):
    return "p50 %.3f s  p95 %.3f s  max %.3f s  mean %.3f s  (min %.3f s)" % (
        s["p50"], s["p95"], s["max"], s["mean"], s["min"])


def runs_delta(before, after):
    """rsync runs per reader between two status probes (variant bind: the status JSON)."""
    if not before or not after:
        return None
    return {node: after[node].get("runs_total", 0) - before.get(node, {}).get("runs_total", 0)
            for node in after}


def md5_file(data):
    return hashlib.md5(data).hexdigest()


def verify_same(bench, writer, readers, path_by_node, what):
    """Checksum list of the tree on the writer and every reader; returns (ok, message)."""
    nodes = [writer] + list(readers)
    lists = parallel([lambda n=n: run_job(n, {"op": "md5", "root": path_by_node[n]}, bench.opts.timeout)
                      for n in nodes])
    ref = lists[0]
    bad = [n for n, lst in zip(nodes[1:], lists[1:], strict=True) if lst["digest"] != ref["digest"]]
    if not bad:
        return True, "md5 of %d files (%s) identical on %s" % (
            ref["files"], fmt_mib(ref["bytes"]), ", ".join(nodes))
    full = parallel([lambda n=n: run_job(n, {"op": "md5", "root": path_by_node[n], "full": True}, bench.opts.timeout)
                     for n in [writer] + bad])
    want = set(full[0]["entries"])
    parts = []
    for node, lst in zip(bad, full[1:], strict=True):
        have = set(lst["entries"])
        diff = sorted({e.split(" ")[0] for e in want.symmetric_difference(have)})
        parts.append("%s differs in %d files (%s%s)" % (node, len(diff), ", ".join(diff[:10]),
                                                        ", ..." if len(diff) > 10 else ""))
    return False, "%s: CHECKSUM MISMATCH: %s" % (what, "; ".join(parts))


def fmt_s(seconds):
    return "(not within the timeout)" if seconds is None else "%.2f s" % seconds


def fmt_mib(n):
    return "%.1f MiB" % (n / MIB) if n >= MIB else "%.1f KiB" % (n / 1024)
