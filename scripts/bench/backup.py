"""Phase 5, backups (asked for by name, on a lab whose inventory sets replication_backup_host), through the playbooks
an operator runs: the first backup of --bulk-mib of new data (every byte new to the repository), an incremental one
after 10 small files changed, and a restore of the bench's directory after it was deleted on every node, checked by
checksum on every node. Each figure is the playbook's wall time and the runner's own (backup, rotating check,
restore drill and retention; or restore and swap-in), from its report.

The repository keeps the bench's snapshots (restic's retention prunes them on the policy's terms): a backup is
never taken back by hand.
"""

import base64
import json
import os
import time

from bench.bulk import bulk_plan
from bench.core import fmt_mib, verify_same
from bench.lab import REPO, BenchError, dx, playbook_json, run_job


def playbook(bench, name, extra):
    """Run playbooks/<name> with ``extra`` vars; (wall seconds, the runner's JSON report the playbook printed)."""
    opts = bench.opts
    started = time.monotonic()
    rc, out, err = playbook_json(opts.inventory, os.path.join(REPO, "playbooks", name), extra, opts.timeout, name)
    took = time.monotonic() - started
    try:
        plays = json.loads(out)["plays"]
    except (ValueError, KeyError):
        raise BenchError("%s (exit %d): %s" % (name, rc, (err or out)[-800:])) from None
    report = None
    for play in plays:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("failed"):
                    raise BenchError("%s failed in %r: %s" % (name, task["task"]["name"], result.get("msg")))
                msg = result.get("msg")
                if isinstance(msg, dict) and "snapshot" in msg:
                    report = msg
    if rc != 0 or report is None:
        raise BenchError("%s (exit %d) printed no report" % (name, rc))
    return took, report


def wait_tree(bench, writer, readers, path, digest):
    """Seconds until the tree at ``path`` has checksum ``digest`` on the writer and is identical on every reader."""
    t0 = time.monotonic()
    deadline = t0 + bench.opts.timeout
    while True:
        mine = run_job(writer, {"op": "md5", "root": path}, bench.opts.timeout)["digest"]
        ok, message = verify_same(bench, writer, readers, dict((n, path) for n in [writer] + readers), "restore")
        if mine == digest and ok:
            return time.monotonic() - t0, message
        if time.monotonic() > deadline:
            raise BenchError("restore: %s not back as it was on every node after %d s (%s)"
                             % (path, bench.opts.timeout, message))
        time.sleep(1)


def phase_backup(bench, writer_node, reader_nodes, namespace_path):
    opts = bench.opts
    plan = bench.plan
    if not plan.get("backup"):
        raise BenchError("this inventory sets up no backups (replication_backup_host)")
    ns = opts.namespace
    result = {}

    stage = "/var/tmp/bench-backup-%d" % bench.pid
    rel = "%s/backup" % bench.dirname
    path = os.path.join(namespace_path, rel)
    bench.on_cleanup("staging dir %s removed on %s" % (stage, writer_node),
                     lambda: dx(writer_node, ["rm", "-rf", "--one-file-system", stage], timeout=300))
    staged = run_job(writer_node, {"op": "stage", "root": stage, "groups": bulk_plan(opts.bulk_mib)}, opts.timeout)
    files = staged["files"]
    total = sum(size for _rel, size in files)
    run_job(writer_node, {"op": "rename", "src": stage, "dst": path}, opts.timeout)
    bench.watch(reader_nodes, ["W %s/%s %d -" % (rel, name, size) for name, size in files])
    bench.wait(reader_nodes, ["F:%s/%s" % (rel, name) for name, _size in files], opts.timeout, "backup data")
    took, report = playbook(bench, "backup.yml", {"namespace": ns})
    result["new_data"] = {"bytes": total, "files": len(files), "playbook_s": took, "report": report}
    print("  backup.yml, the first backup of %s new in %d files: %.2f s (the runner: %.2f s, %s added)" % (
        fmt_mib(total), len(files), took, report.get("seconds", 0), fmt_mib(report["bytes_added"])))

    small = [name for name, size in files if size <= 16 * 1024][:10] or [name for name, _size in files][:10]
    payloads = [[os.path.join(path, name), os.urandom(16 * 1024)] for name in small]
    run_job(writer_node, {"op": "write_files", "interval": 0, "files": [
        [p, base64.b64encode(data).decode()] for p, data in payloads]}, opts.timeout)
    digest_now = run_job(writer_node, {"op": "md5", "root": path}, opts.timeout)["digest"]
    wait_tree(bench, writer_node, reader_nodes, path, digest_now)
    took, report = playbook(bench, "backup.yml", {"namespace": ns})
    result["incremental"] = {"changed_files": len(small), "playbook_s": took, "report": report}
    print("  backup.yml after %d files of 16 KiB changed: %.2f s (the runner: %.2f s, %s added)" % (
        len(small), took, report.get("seconds", 0), fmt_mib(report["bytes_added"])))

    gone = bench.remove_and_wait(writer_node, reader_nodes, path, rel, "backup: delete")
    if gone is None:
        raise BenchError("the bench's backup directory was not deleted on every reader")
    took, report = playbook(bench, "restore.yml", {"namespace": ns, "paths": [rel]})
    back, message = wait_tree(bench, writer_node, reader_nodes, path, digest_now)
    result["restore"] = {"bytes": total, "playbook_s": took, "seconds": report.get("seconds"),
                         "replicated_s": back, "report": dict(report, changes=len(report.get("changes", [])))}
    print("  restore.yml of %s (%s, %d files, deleted on every node): %.2f s (the runner: %.2f s); "
          "identical on every node %.2f s later"
          % (rel, fmt_mib(total), len(files), took, report.get("seconds", 0), back))
    print("      %s" % message)
    return result
