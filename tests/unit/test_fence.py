# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bind fence: plugins/module_utils/_fence.py (how a fence changes) and the mover's fence.py (which pushes a
receiver takes)."""

import json
import re
import sys
from pathlib import Path

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils import _fence
from ansible_collections.swarmdata.replication.plugins.module_utils._fence import FenceError

MOVER_DIR = Path(__file__).resolve().parents[2] / "roles" / "bind" / "files" / "mover"
sys.path.insert(0, str(MOVER_DIR))  # as in the image: the mover's files import each other by plain name
sys.dont_write_bytecode = True  # no __pycache__ in the image's build files


@pytest.fixture
def fence(load_source):
    return load_source("mover_fence_under_test", MOVER_DIR / "fence.py")


# ------------------------------------------------------------------------------ module_utils/_fence.py

def test_config_name_short():
    assert _fence.config_name("swarmdata", "wiki", 1) == "swarmdata-fence-wiki-1"
    assert _fence.config_name("acme.data-sync", "db", 12) == "acme.data-sync-fence-db-12"


def test_config_name_sanitizes_the_prefix():
    assert _fence.config_name("acme data.", "wiki", 3) == "acme_data-fence-wiki-3"


def test_config_name_at_exactly_64_is_not_cut():
    ns = "n" * (64 - len("swarmdata-fence-") - len("-7"))
    name = _fence.config_name("swarmdata", ns, 7)
    assert len(name) == 64 and name == "swarmdata-fence-%s-7" % ns


def test_config_name_is_cut_to_64_with_a_digest_and_keeps_the_epoch():
    ns = "a" * 63
    epochs = (1, 22, 333)
    names = [_fence.config_name("swarmdata", ns, e) for e in epochs]
    for name, epoch in zip(names, epochs, strict=True):
        assert len(name) == 64
        assert re.fullmatch(r"swarmdata-fence-a+-[0-9a-f]{12}-%d" % epoch, name), name
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name)
    # The digest is of the uncut head: the same for every epoch of a namespace, different between namespaces.
    assert len({n.rsplit("-", 2)[1] for n in names}) == 1
    other = _fence.config_name("swarmdata", "a" * 62 + "b", 1)
    assert len(other) == 64 and other.rsplit("-", 2)[1] != names[0].rsplit("-", 2)[1]


def test_config_name_cut_strips_separators_before_the_digest():
    # The cut falls right after a '-': it is dropped, never doubled.
    head = "swarmdata-fence-"
    keep = 64 - len("-1") - 13
    ns = "x" * (keep - len(head) - 1) + "-" + "y" * 40
    name = _fence.config_name("swarmdata", ns, 1)
    assert "--" not in name and len(name) == 63


def test_initial():
    assert _fence.initial("node1") == {"epoch": 1, "primary": "node1", "fenced": []}


def test_promote_fences_the_old_primary_by_default():
    assert _fence.promote(_fence.initial("node1"), "node3") == {"epoch": 2, "primary": "node3", "fenced": ["node1"]}


def test_promote_with_explicit_hosts():
    fence = {"epoch": 4, "primary": "node1", "fenced": []}
    assert _fence.promote(fence, "node3", ["node2"]) == {"epoch": 5, "primary": "node3", "fenced": ["node2"]}
    # An empty list: a planned switchover, the old primary is in sync and stays a replica.
    assert _fence.promote(fence, "node3", []) == {"epoch": 5, "primary": "node3", "fenced": []}


def test_promote_keeps_hosts_fenced_before_and_sorts():
    fence = {"epoch": 2, "primary": "node3", "fenced": ["node1"]}
    assert _fence.promote(fence, "node2") == {"epoch": 3, "primary": "node2", "fenced": ["node1", "node3"]}


def test_promote_never_fences_the_promoted_host_asked_for():
    # Asked explicitly to fence the host being promoted: it is not fenced.
    assert _fence.promote(_fence.initial("node1"), "node2", ["node1", "node2"]) == {
        "epoch": 2, "primary": "node2", "fenced": ["node1"]}
    assert _fence.promote({"epoch": 4, "primary": "node1", "fenced": []}, "node2", ["node2"]) == {
        "epoch": 5, "primary": "node2", "fenced": []}


def test_promote_never_fences_the_promoted_host_fenced_before():
    # node1 is fenced; promoting it back lifts its own fence, and the host it replaces is fenced instead.
    fence = {"epoch": 2, "primary": "node3", "fenced": ["node1"]}
    assert _fence.promote(fence, "node1") == {"epoch": 3, "primary": "node1", "fenced": ["node3"]}


def test_promote_does_not_modify_its_input():
    fence = {"epoch": 2, "primary": "node3", "fenced": ["node1"]}
    _fence.promote(fence, "node2")
    assert fence == {"epoch": 2, "primary": "node3", "fenced": ["node1"]}


def test_promote_without_a_fence_is_refused():
    with pytest.raises(FenceError, match="no fence for this namespace yet: run site.yml first"):
        _fence.promote(None, "node2")


def test_promote_to_the_same_primary_is_refused():
    with pytest.raises(FenceError, match=r"^node1 is already the primary \(epoch 3\)$"):
        _fence.promote({"epoch": 3, "primary": "node1", "fenced": []}, "node1")


def test_admit_lifts_the_fence_of_the_hosts():
    fence = {"epoch": 3, "primary": "node2", "fenced": ["node1", "node3"]}
    assert _fence.admit(fence, ["node1"]) == {"epoch": 4, "primary": "node2", "fenced": ["node3"]}
    assert _fence.admit(fence, ["node3", "node1"]) == {"epoch": 4, "primary": "node2", "fenced": []}
    assert fence == {"epoch": 3, "primary": "node2", "fenced": ["node1", "node3"]}


def test_admit_a_host_not_fenced_is_refused():
    fence = {"epoch": 3, "primary": "node2", "fenced": ["node1"]}
    with pytest.raises(FenceError, match=r"^node3 is not fenced \(fenced: node1\)$"):
        _fence.admit(fence, ["node3"])
    with pytest.raises(FenceError, match=r"^node3, node4 are not fenced \(fenced: node1\)$"):
        _fence.admit(fence, ["node4", "node1", "node3"])
    with pytest.raises(FenceError, match=r"^node1 is not fenced \(fenced: none\)$"):
        _fence.admit({"epoch": 1, "primary": "node2", "fenced": []}, ["node1"])


def test_admit_without_a_fence_is_refused():
    with pytest.raises(FenceError, match="run site.yml first"):
        _fence.admit(None, ["node1"])


def test_a_fence_error_is_an_exception_with_the_message():
    assert issubclass(FenceError, Exception)
    assert str(FenceError("x")) == "x"


# ------------------------------------------------------------------------------ the mover's fence.py

FENCE = {"epoch": 3, "primary": "node2", "fenced": ["node1"]}


def test_accepts_the_primary_at_the_same_epoch(fence):
    assert fence.accepts(FENCE, "node2", 3, "node3") is None


def test_refuses_an_older_epoch_even_from_the_primary(fence):
    reason = fence.accepts(FENCE, "node1", 2, "node3")
    assert reason == ("the push carries fence epoch 2 from node1, the namespace's is 3 with primary node2: node1 is "
                      "an old primary")
    assert "old primary" in fence.accepts(FENCE, "node2", 1, "node3")
    assert fence.accepts(FENCE, "node2", 2, "node3", dry_run=True) is not None


def test_refuses_the_same_epoch_from_another_host(fence):
    assert fence.accepts(FENCE, "node3", 3, "node1", dry_run=True) == \
        "node3 is not the namespace's primary at epoch 3 (node2 is)"
    assert fence.accepts(FENCE, None, 3, "node3") is not None


def test_refuses_a_push_into_the_receivers_own_primary_copy(fence):
    assert fence.accepts({"epoch": 3, "primary": "node2", "fenced": []}, "node2", 3, "node2") == \
        "this node is the namespace's primary at epoch 3"


def test_a_fenced_receiver_takes_only_a_dry_run(fence):
    assert fence.accepts(FENCE, "node2", 3, "node1") == \
        "this node is fenced at epoch 3 until playbooks/failback.yml admits it"
    assert fence.accepts(FENCE, "node2", 3, "node1", dry_run=True) is None


def test_a_fence_without_a_fenced_list(fence):
    assert fence.accepts({"epoch": 1, "primary": "node2"}, "node2", 1, "node1") is None


def test_accepts_a_newer_epoch(fence):
    # A stack update may reach the sender before the receiver.
    assert fence.accepts(FENCE, "node3", 4, "node1") is None
    assert fence.accepts(FENCE, "node2", 9, "node3") is None


def test_refuses_without_a_fence_or_an_epoch(fence):
    assert fence.accepts(None, "node2", 3, "node3") == "this receiver holds no fence for the namespace (run site.yml)"
    assert fence.accepts(FENCE, "node2", None, "node3") == "the push carries no fence epoch"


@pytest.mark.parametrize("value, expected", [
    ("node-a:3", ("node-a", 3)),
    ("node2.example.com:12", ("node2.example.com", 12)),
    ("2001:db8::1:4", ("2001:db8::1", 4)),  # the last ':' separates the epoch
    (":3", (None, 3)),
    ("node-a:", (None, None)),
    ("node-a:x", (None, None)),
    ("node-a", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
])
def test_claim(fence, value, expected):
    assert fence.claim(value) == expected


def test_a_claim_without_a_node_is_refused_at_the_current_epoch(fence):
    sender, epoch = fence.claim(":3")
    assert fence.accepts(FENCE, sender, epoch, "node3") is not None


@pytest.mark.parametrize("command, expected", [
    ("rsync --server -logDtpre.iLsfxCIvu --delete . wiki/", ("wiki", False)),
    ("rsync --server -logDtpre.iLsfxCIvu --delete --delay-updates --numeric-ids . wiki/", ("wiki", False)),
    ("rsync --server -nlogDtpre.iLsfxCIvu --delete . wiki/", ("wiki", True)),
    ("rsync --server -logDtpnre.iLsfxCIvu . db/", ("db", True)),
    ("rsync --server --dry-run -logDtpre.iLsfxCIvu . db/", ("db", True)),
    ("rsync --server -logDtpre.iLsfxCIvu . wiki/sub/dir/", ("wiki", False)),
    ("rsync --server -logDtpre.iLsfxCIvu . /wiki", ("wiki", False)),
    ("rsync --server -logDtpre.iLsfxCIvu . wiki", ("wiki", False)),
])
def test_parse_push(fence, command, expected):
    assert fence.parse_push(command) == expected


def test_parse_push_an_n_after_the_protocol_dot_is_no_dry_run(fence):
    # What follows "e." is the protocol's capability string, not options.
    assert fence.parse_push("rsync --server -logDtpre.iLsnfxC . wiki/") == ("wiki", False)


@pytest.mark.parametrize("command", [
    "rsync --server --sender -logDtpre.iLsfxCIvu . wiki/",  # a pull: the key never reads
    "rsync --server --sender -nlogDtpre.iLsfxCIvu . wiki/",
    "sh -c 'rsync --server . wiki/'",
    "cat /etc/shadow",
    "/usr/bin/rsync --server -logDtpre.iLsfxCIvu . wiki/",
    "rsync -logDtpre.iLsfxCIvu . wiki/",  # no --server
    "rsync --server",
    "rsync --server -logDtpre.iLsfxCIvu . ./",
    "rsync --server -logDtpre.iLsfxCIvu . .hidden/",
    "rsync --server -logDtpre.iLsfxCIvu . ../etc/",
    "rsync --server -logDtpre.iLsfxCIvu . /",
    "rsync --server -logDtpre.iLsfxCIvu . 'wiki/",  # unbalanced quote
    "",
    None,
])
def test_parse_push_refuses(fence, command):
    assert fence.parse_push(command) is None


def test_fences_from_the_environment(fence, monkeypatch):
    monkeypatch.setenv("MOVER_FENCES", json.dumps({"wiki": FENCE}))
    assert fence.fences() == {"wiki": FENCE}
    monkeypatch.setenv("MOVER_FENCES", "not json")
    assert fence.fences() == {}
    monkeypatch.setenv("MOVER_FENCES", "")
    assert fence.fences() == {}
    monkeypatch.delenv("MOVER_FENCES")
    assert fence.fences() == {}


def test_module_utils_and_mover_agree_on_a_failover(fence):
    """A failover made by _fence.promote: the old primary's pushes are refused everywhere, the new one's taken."""
    before = _fence.initial("node1")
    after = _fence.promote(before, "node3")
    assert fence.accepts(after, "node1", before["epoch"], "node2") is not None  # the old sender, still running
    assert fence.accepts(after, "node3", after["epoch"], "node2") is None
    assert fence.accepts(after, "node3", after["epoch"], "node1") is not None  # fenced until failback
    assert fence.accepts(after, "node3", after["epoch"], "node1", dry_run=True) is None
    admitted = _fence.admit(after, ["node1"])
    assert fence.accepts(admitted, "node3", admitted["epoch"], "node1") is None
    assert fence.accepts(admitted, "node3", after["epoch"], "node1") is not None
