# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_syncthing.py: identities and device IDs as Syncthing computes them.

fixtures/syncthing/cert.pem was made by generate_identity(); cert.device-id is what Syncthing 1.19.2
(`syncthing --device-id`, Debian bookworm's package, in the p2p image) printed for it.
"""

import re
from pathlib import Path

import pytest
from ansible_collections.swarmdata.replication.plugins.module_utils._syncthing import (
    ALPHABET,
    device_id,
    device_id_from_pem,
    generate_identity,
    luhn32,
)
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

FIXTURES = Path(__file__).parent / "fixtures" / "syncthing"
ID_RE = re.compile(r"([A-Z2-7]{7}-){7}[A-Z2-7]{7}")


def test_device_id_of_a_certificate_matches_syncthings_own():
    pem = (FIXTURES / "cert.pem").read_bytes()
    assert device_id_from_pem(pem) == (FIXTURES / "cert.device-id").read_text().strip()


def test_device_id_from_pem_accepts_text():
    pem = (FIXTURES / "cert.pem").read_text()
    assert device_id_from_pem(pem) == (FIXTURES / "cert.device-id").read_text().strip()


def test_device_id_shape_and_check_characters():
    ident = device_id(b"any certificate bytes")
    assert ID_RE.fullmatch(ident)
    plain = ident.replace("-", "")
    for i in range(4):
        chunk = plain[i * 14:i * 14 + 14]
        assert luhn32(chunk[:13]) == chunk[13]


def test_luhn32_known_values():
    # Syncthing's lib/protocol/luhn_test.go: "AB725E4GHIQPL3ZFGT" -> 'G'
    assert luhn32("AB725E4GHIQPL3ZFGT") == "G"
    assert luhn32("A") == "A"
    assert all(luhn32(c) in ALPHABET for c in ALPHABET)


def test_luhn32_rejects_non_base32():
    with pytest.raises(ValueError):
        luhn32("a1")


def test_generate_identity_is_p384_self_signed_with_its_device_id():
    key_pem, cert_pem, ident = generate_identity()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp384r1"
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=syncthing"
    assert device_id_from_pem(cert_pem) == ident
    assert ID_RE.fullmatch(ident)


def test_two_identities_differ():
    assert generate_identity()[2] != generate_identity()[2]
