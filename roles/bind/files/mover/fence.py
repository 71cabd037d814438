"""The receiver's fence (docs/failover.md): which pushes a replica takes, per namespace.

The fence of each namespace (epoch, primary, fenced hosts) is kept in the swarm by the namespace_fence module and
reaches the receivers and senders through the stack (MOVER_FENCES). Every push carries its sender's node and
epoch (ssh SetEnv MOVER_FENCE=<node>:<epoch>), and the receiver's forced command checks it before rrsync runs, so
an old primary that comes back with its old sender running writes nothing anywhere.
"""

import json
import os
import shlex


def fences():
    """{namespace: {"epoch", "primary", "fenced"}} from MOVER_FENCES (JSON)."""
    try:
        return json.loads(os.environ.get("MOVER_FENCES", "") or "{}")
    except ValueError:
        return {}


def claim(value):
    """(node, epoch) from a push's MOVER_FENCE ("node-a:3"), or (None, None)."""
    node, _sep, epoch = (value or "").rpartition(":")
    try:
        return node or None, int(epoch)
    except ValueError:
        return None, None


def accepts(fence, sender, epoch, me, dry_run=False):
    """None if a receiver on ``me`` holding ``fence`` takes a push from ``sender`` claiming ``epoch``, else why not.

    A newer epoch than the receiver's is taken (a stack update may reach the sender first); an older one never. At
    the same epoch only the primary may push, never into the receiver's own primary copy, and into a fenced node's
    copy only as a dry run (failback.yml reads what that copy holds before it moves it aside).
    """
    if fence is None:
        return "this receiver holds no fence for the namespace (run site.yml)"
    if epoch is None:
        return "the push carries no fence epoch"
    if epoch < fence["epoch"]:
        return ("the push carries fence epoch %d from %s, the namespace's is %d with primary %s: %s is an old primary"
                % (epoch, sender, fence["epoch"], fence["primary"], sender))
    if epoch == fence["epoch"]:
        if sender != fence["primary"]:
            return "%s is not the namespace's primary at epoch %d (%s is)" % (sender, epoch, fence["primary"])
        if me == fence["primary"]:
            return "this node is the namespace's primary at epoch %d" % epoch
        if me in fence.get("fenced", []) and not dry_run:
            return "this node is fenced at epoch %d until playbooks/failback.yml admits it" % epoch
    return None


def parse_push(command):
    """(namespace, dry_run) of an rsync server command ("rsync --server -nlogDtpre.iLsfxC . wiki/"), else None."""
    try:
        args = shlex.split(command or "")
    except ValueError:
        return None
    if len(args) < 3 or args[0] != "rsync" or "--server" not in args or "--sender" in args:
        return None
    dry_run = "--dry-run" in args or any(
        a.startswith("-") and not a.startswith("--") and "n" in a.split(".", 1)[0] for a in args[1:-1])
    namespace = args[-1].strip("/").split("/", 1)[0]
    if not namespace or namespace.startswith("."):
        return None
    return namespace, dry_run
