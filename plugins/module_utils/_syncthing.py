# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Syncthing device identities: a certificate and key, and the device ID computed from the certificate.

Private to the swarmdata.replication collection: no compatibility promise.

The device ID is what Syncthing computes (lib/protocol/deviceid.go): the SHA-256 of the certificate's
DER bytes, base32 without padding (52 characters), a Luhn mod-32 check character after each 13, and
dashes every 7 characters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import traceback

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def luhn32(text):
    """Syncthing's Luhn mod-32 check character over base32 ``text``."""
    factor, total = 1, 0
    for char in text:
        codepoint = ALPHABET.index(char)
        addend = factor * codepoint
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def device_id(der):
    """Syncthing device ID of a certificate given as DER bytes."""
    digest = base64.b32encode(hashlib.sha256(der).digest()).decode("ascii").rstrip("=")
    checked = "".join(digest[i:i + 13] + luhn32(digest[i:i + 13]) for i in range(0, 52, 13))
    return "-".join(checked[i:i + 7] for i in range(0, 56, 7))


def device_id_from_pem(pem):
    """Device ID of the (first) certificate in a PEM text."""
    cert = x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else pem.encode("ascii"))
    return device_id(cert.public_bytes(serialization.Encoding.DER))


def generate_identity(common_name="syncthing", days=7300):
    """A new identity as Syncthing makes one: an ECDSA P-384 key and a self-signed certificate.

    Returns (key_pem, cert_pem, device_id); the key exists only in the returned bytes.
    """
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                              x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    return key_pem, cert_pem, device_id(cert.public_bytes(serialization.Encoding.DER))
