"""Replication benchmark on the local lab swarm: latency, bulk throughput, small changes in a big tree.

    python3 scripts/bench.py                  # full run (100 writes, 1 GiB bulk, 100000-file tree)
    python3 scripts/bench.py --quick          # smoke run (20 writes, 64 MiB, 5000 files)
    python3 scripts/bench.py --json out.json  # also write the figures as JSON
    python3 scripts/bench.py --variant glusterfs --json gluster.json   # the lab deployed with glusterfs
    python3 scripts/bench.py --table bind.json gluster.json            # both runs in one table
    python3 scripts/bench.py --variant all --json all.json  # a lab of its own per variant, one table for all three
    python3 scripts/bench.py --variant bind --lab-nodes 3,6 --phases latency,rerun  # the scale run, 3 against 6
    python3 scripts/bench.py --quick --inventory /tmp/lab/hosts.yml   # another lab (default: inventories/lab)
    python3 scripts/bench.py --phases backup --bulk-mib 256 --namespace wiki --inventory <a lab with backups>

It talks to the lab nodes with ``docker exec`` only; the one network address it uses is a lab node's
own address on the lab network, for the bare-rsync baseline. Everything it creates (a ``.bench-<pid>``
directory in the namespace, a staging directory, a baseline scratch directory, a temporary SSH key and
its authorized_keys line) is removed at the end, also after an error, Ctrl-C or SIGTERM. It prints
figures and asserts nothing about speed; it exits non-zero only when a phase could not complete
(timeout, checksum mismatch) or the lab is not ready.

Timing: every timestamp is ``time.time()`` taken inside a lab container. The containers share the
host's kernel clock, so the writer's and the readers' timestamps are comparable. One long-lived
poller per reader (``docker exec -i <node> python3``) stats the expected files every 5 ms and
reports when each one is present with its full size (and content, where a checksum is given).

Variants: the plan (the collection's topology lookup over ``--inventory``, the one ``ansible`` call) names
the hosts, the primary, the replicas, the root, the namespaces and the services; a variant function checks
its deployment against it and returns (writer_node, reader_nodes, namespace_path); the phases take exactly
those and know nothing about the variant. ``bind`` writes
on the primary and reads on the replicas; ``glusterfs`` writes through the first node's mount and
reads through the others' mounts. ``p2p`` writes on the first node and reads on the other peers.
A lab runs one variant at a time. ``--variant all`` or ``--lab-nodes`` make the bench build labs of its own
(lab ``swarmdata-bench``, never README's lab), one per variant and node count in turn, with the collection's lab
playbook and site.yml, run the phases on each, print one table, and remove the lab at the end. ``--table`` puts
the JSON files of separate runs side by side.
"""

import argparse
import base64
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import time

if not __package__:  # run as `python scripts/bench` (the directory): its parent holds the package
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.backup import phase_backup  # noqa: E402
from bench.bulk import phase_bulk  # noqa: E402
from bench.core import Bench, fmt_s, md5_file  # noqa: E402
from bench.lab import (  # noqa: E402
    BENCH_LAB, REPO, BenchError, Poller, build_lab, destroy_lab, dx, dx_ok, load_plan, run_job,
)
from bench.latency import phase_latency  # noqa: E402
from bench.report import git_commit, print_table, summary  # noqa: E402
from bench.rerun import phase_rerun  # noqa: E402
from bench.tree import phase_tree  # noqa: E402
from bench.variants import VARIANTS  # noqa: E402

PHASES = ("latency", "bulk", "tree", "rerun", "backup")
# The re-run phase runs site.yml several times (about 30 s each): asked for by name or with --rerun. The backup phase
# (an inventory with replication_backup_host, --bulk-mib of new data) only by name.
DEFAULT_PHASES = ("latency", "bulk", "tree")

PHASE_FUNCS = {"latency": ("1. propagation latency", phase_latency),
               "bulk": ("2. bulk throughput", phase_bulk),
               "tree": ("3. small changes in a big tree", phase_tree),
               "rerun": ("4. site.yml re-run (changed=0)", phase_rerun),
               "backup": ("5. backups: first, new data, incremental, restore", phase_backup)}


def run_phases(bench, writer_node, reader_nodes, namespace_path):
    """Everything after the variant's own checks; knows only a writer, readers and the namespace path."""
    opts = bench.opts
    bench_path = os.path.join(namespace_path, bench.dirname)

    def remove_bench_dir():
        dx(writer_node, ["rm", "-rf", "--one-file-system", bench_path], timeout=300)
        deadline = time.monotonic() + min(opts.timeout, 300)
        left = list(reader_nodes)
        while left and time.monotonic() < deadline:
            left = [r for r in left if dx_ok(r, ["test", "-e", bench_path])]
            if left:
                time.sleep(1)
        for r in left:  # the delete did not propagate in time: remove it there directly
            dx(r, ["rm", "-rf", "--one-file-system", bench_path], timeout=300)
            print("cleanup: %s still had %s; removed it there directly" % (r, bench_path))

    bench.on_cleanup("%s removed on %s and gone on %s" % (bench_path, writer_node, ", ".join(reader_nodes)),
                     remove_bench_dir)
    dx(writer_node, ["mkdir", bench_path])
    for node in reader_nodes:
        bench.pollers[node] = Poller(node, namespace_path)
        bench.on_cleanup("poller on %s stopped" % node, bench.pollers[node].close)

    # warm-up: the bench directory and one file, end to end, before anything is timed
    data = ("%s warm-up\n" % bench.tag).encode()
    rel = "%s/warmup.txt" % bench.dirname
    bench.watch(reader_nodes, ["W %s %d %s" % (rel, len(data), md5_file(data))])
    job = run_job(writer_node, {"op": "write_files", "interval": 0,
                                "files": [[os.path.join(namespace_path, rel), base64.b64encode(data).decode()]]},
                  60)
    seen = bench.wait(reader_nodes, ["F:" + rel], opts.timeout, "warm-up")
    bench.log("warm-up: first file on all readers after %.2f s" % (
        max(s["F:" + rel] for s in seen.values()) - job["writes"][0][1]))

    results = {}
    for phase in opts.phases:
        title, fn = PHASE_FUNCS[phase]
        time.sleep(opts.settle)
        print("\n== %s" % title, flush=True)
        try:
            results[phase] = fn(bench, writer_node, reader_nodes, namespace_path)
        except BenchError as exc:
            print("  FAILED: %s" % exc, flush=True)
            results[phase] = {"error": str(exc)}
    print()
    total = bench.remove_and_wait(writer_node, reader_nodes, bench_path, bench.dirname, "final cleanup")
    bench.log("bench directory removed; gone on all readers after %s" % fmt_s(total))
    return results


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=sorted(VARIANTS) + ["all"], default="bind",
                        help="the variant deployed on the lab; 'all' builds a lab per variant (implies --lab-nodes 3)")
    parser.add_argument("--writes", type=int, help="phase 1: number of small writes (default 100; --quick 20)")
    parser.add_argument("--interval", type=float, default=0.2, help="phase 1: seconds between writes (0.2)")
    parser.add_argument("--bulk-mib", type=int, help="phase 2: MiB of mixed files (default 1024; --quick 64)")
    parser.add_argument("--tree-files", type=int, help="phase 3: files in the tree (default 100000; --quick 5000)")
    parser.add_argument("--quick", action="store_true", help="smoke run: writes=20, bulk-mib=64, tree-files=5000")
    parser.add_argument("--phases", help="comma-separated subset of %s (default %s; with --rerun also rerun)" % (
        ",".join(PHASES), ",".join(DEFAULT_PHASES)))
    parser.add_argument("--timeout", type=int, default=600, help="seconds any single wait may take (600)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before each timed step (3)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--table", nargs="+", metavar="JSON",
                        help="print one summary table from the --json files of earlier runs (one per variant) "
                             "and exit; runs nothing")
    parser.add_argument("--rerun", type=int, default=0, metavar="N",
                        help="phase 4: run site.yml N times on the converged lab, each must report changed=0")
    parser.add_argument("--rerun-baseline", metavar="REF",
                        help="phase 4: also run site.yml from a git worktree of REF, alternating with this checkout")
    lab = parser.add_argument_group("lab")
    lab.add_argument("--inventory", default=os.path.join(REPO, "inventories", "lab", "hosts.yml"),
                     help="inventory the plan is read from (inventories/lab/hosts.yml, written by scripts/lab.sh)")
    lab.add_argument("--primary", help="writer host or container (default: the plan's primary; else its first host)")
    lab.add_argument("--replicas", type=lambda s: [x for x in s.split(",") if x],
                     help="reader hosts or containers, comma-separated (default: the plan's replicas; else its "
                          "other hosts)")
    lab.add_argument("--lab-nodes", type=lambda s: [int(x) for x in s.split(",") if x],
                     help="build the bench's own lab with this many nodes (comma-separated: one lab per count, e.g. "
                          "3,6), deploy the variant on it, run the phases there, and remove it at the end")
    lab.add_argument("--keep-lab", action="store_true",
                     help="with --lab-nodes: leave the last lab running, and its inventory (printed)")
    lab.add_argument("--namespace", default="uploads", help="namespace the bench writes into (uploads)")
    lab.add_argument("--stack", help="Swarm stack name (default: the variant role's <variant>_stack_name)")
    lab.add_argument("--lab-network", help="lab network for the baseline's address (default: the reader's only "
                                           "network)")
    opts = parser.parse_args(argv)
    quick = {"writes": 20, "bulk_mib": 64, "tree_files": 5000}
    full = {"writes": 100, "bulk_mib": 1024, "tree_files": 100000}
    for name, value in (quick if opts.quick else full).items():
        if getattr(opts, name) is None:
            setattr(opts, name, value)
    if opts.phases is None:
        opts.phases = ",".join(DEFAULT_PHASES + (("rerun",) if opts.rerun else ()))
    opts.phases = [p.strip() for p in opts.phases.split(",") if p.strip()]
    if "rerun" in opts.phases and opts.rerun < 1:
        opts.rerun = 5
    bad = [p for p in opts.phases if p not in PHASES]
    if bad or not opts.phases:
        parser.error("--phases: unknown %s (choose from %s)" % (", ".join(bad) or "(none)", ", ".join(PHASES)))
    if opts.variant == "all" and not opts.lab_nodes:
        opts.lab_nodes = [3]
    if opts.lab_nodes and (min(opts.lab_nodes) < 2 or opts.primary or opts.replicas):
        parser.error("--lab-nodes: at least 2 nodes, and the bench's lab picks its own --primary and --replicas")
    if opts.writes < 1 or opts.bulk_mib < 1 or opts.tree_files < 10 or opts.timeout < 1:
        parser.error("--writes and --bulk-mib must be >= 1, --tree-files >= 10, --timeout >= 1")
    return opts


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _cleaning_up(signum, frame):
    print("cleanup in progress (every step has a timeout); please wait", flush=True)


def lab_runs(opts):
    """(variant, node count or None for the lab given by --inventory) of each run, in order."""
    variants = ["bind", "glusterfs", "p2p"] if opts.variant == "all" else [opts.variant]
    if not opts.lab_nodes:
        return [(v, None) for v in variants]
    return [(v, n) for v in variants for n in opts.lab_nodes]


def one_run(opts, variant, nodes, workdir, meta):
    """Build the lab if asked, then the variant's checks and the phases; (results, exit code)."""
    bench = Bench(opts)
    try:
        if nodes:
            print("\n=== %s on a lab of %d nodes: making it (lab playbook, site.yml)" % (variant, nodes), flush=True)
            opts.inventory, first = build_lab(workdir, variant, nodes)
            print("  first site.yml on the new lab: %.1f s" % first, flush=True)
        plan = load_plan(opts.inventory, variant)
        bench.plan = plan
        writer, readers, path = VARIANTS[variant](bench, plan)
        meta.update(bench.meta)
        print("swarmdata replication benchmark")
        print("  date:      %s" % meta["date"])
        print("  commit:    %s" % meta["commit"])
        print("  nodes:     %d swarm nodes; writer %s, readers %s" % (meta["swarm_nodes"], writer, ", ".join(readers)))
        print("  variant:   %s (%s)" % (variant, meta.get("variant_settings", "")))
        print("  namespace: %s (bench dir %s)" % (path, bench.dirname))
        print("  options:   writes=%d interval=%gs bulk-mib=%d tree-files=%d timeout=%ds phases=%s%s" % (
            opts.writes, opts.interval, opts.bulk_mib, opts.tree_files, opts.timeout, ",".join(opts.phases),
            " rerun=%d%s" % (opts.rerun, " baseline=" + opts.rerun_baseline if opts.rerun_baseline else "")
            if "rerun" in opts.phases else ""))
        print("  host:      %s CPUs shared by all lab nodes (and anything else running here)" % meta["host_cpus"],
              flush=True)
        results = run_phases(bench, writer, readers, path)
        return results, 1 if any("error" in r for r in results.values()) else 0
    finally:
        signal.signal(signal.SIGINT, _cleaning_up)
        signal.signal(signal.SIGTERM, _cleaning_up)
        bench.cleanup()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    if opts.table:
        return print_table(opts.table)
    signal.signal(signal.SIGTERM, _interrupt)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "commit": git_commit(), "host_cpus": os.cpu_count(), "pid": os.getpid(),
            "options": {"writes": opts.writes, "interval": opts.interval, "bulk_mib": opts.bulk_mib,
                        "tree_files": opts.tree_files, "timeout": opts.timeout, "phases": opts.phases,
                        "lab_nodes": opts.lab_nodes}}
    runs = lab_runs(opts)
    results = {}
    rc = 0
    workdir = tempfile.mkdtemp(prefix="swarmdata-bench-lab-") if opts.lab_nodes else None
    try:
        for variant, nodes in runs:
            key = variant if not nodes else "%s, %d nodes" % (variant, nodes)
            run_meta = dict(meta) if len(runs) > 1 else meta
            try:
                results[key], code = one_run(opts, variant, nodes, workdir, run_meta)
            except BenchError as exc:
                print("error: %s" % exc, flush=True)
                results[key], code = {"lab": {"error": str(exc)}}, 2
            if len(runs) > 1:
                meta.setdefault("runs", {})[key] = dict((k, v) for k, v in run_meta.items() if k not in meta)
            rc = rc or code
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", flush=True)
        rc = 130
    finally:
        signal.signal(signal.SIGINT, _cleaning_up)
        signal.signal(signal.SIGTERM, _cleaning_up)
        if workdir and opts.keep_lab:
            print("the bench's lab (%s) is kept; its inventory: %s" % (BENCH_LAB, os.path.join(workdir, "hosts.yml")),
                  flush=True)
        elif workdir:
            try:
                destroy_lab()
                print("cleanup: the bench's lab (%s) removed" % BENCH_LAB, flush=True)
            except BenchError as exc:
                print("cleanup: removing the bench's lab FAILED: %s" % exc, flush=True)
            shutil.rmtree(workdir, ignore_errors=True)
    if results:
        print()
        summary(meta, results)
    if opts.json:
        with open(opts.json, "w") as handle:
            json.dump({"meta": meta, "results": results, "exit_code": rc}, handle, indent=2, sort_keys=True)
        print("figures written to %s" % opts.json)
    return rc


if __name__ == "__main__":
    sys.exit(main())
