"""Personal data at rest: identifiers encrypted (AES-GCM) and found through keyed hashes.

Both keys are derived from ``CREDITPLUS_PII_KEY`` with HKDF, so one secret serves two
purposes without reusing key material. Keyed hashes (HMAC-SHA256) let us find a person by ID
number without storing it readable; without the key they cannot be brute-forced from the
small space of valid ID numbers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PREFIX = "v1:"


@lru_cache(maxsize=4)
def _keys(master: str) -> tuple[bytes, bytes]:
    material = master.encode()

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)

    return derive(b"creditplus pii encryption"), derive(b"creditplus pii lookup hash")


def _enc_key() -> bytes:
    return _keys(settings.PII_KEY)[0]


def _hash_key() -> bytes:
    return _keys(settings.PII_KEY)[1]


def lookup_hash(value: str) -> str:
    """Keyed hash of a normalized identifier, for exact look-up without the clear value."""
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def encrypt(value: str) -> str:
    """Encrypt ``value`` (random nonce; the result differs on every call)."""
    nonce = os.urandom(12)
    sealed = AESGCM(_enc_key()).encrypt(nonce, value.encode(), None)
    return _PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    """Decrypt a value made by :func:`encrypt`."""
    if not token.startswith(_PREFIX):
        raise ValueError("not an encrypted value")
    raw = base64.b64decode(token[len(_PREFIX) :])
    return AESGCM(_enc_key()).decrypt(raw[:12], raw[12:], None).decode()


def mask_id_number(value: str) -> str:
    """3101**********1234: the first four and last four characters of an ID number."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(name: str) -> str:
    """张*, 欧阳** : a natural person's name as the public may see it."""
    if not name:
        return name
    if len(name) >= 4:  # compound surnames such as 欧阳, 司马
        return name[:2] + "*" * (len(name) - 2)
    return name[0] + "*" * (len(name) - 1)


@lru_cache(maxsize=4)
def _siv(master: str) -> AESSIV:
    key = HKDF(
        algorithm=hashes.SHA256(), length=64, salt=None, info=b"creditplus pii sealed"
    ).derive(master.encode())
    return AESSIV(key)


def seal(value: str) -> str:
    """Deterministic encryption (AES-SIV) for personal values inside stored records: equal
    values give equal ciphertexts, so a resubmitted record compares equal to its stored copy
    (equality is all it reveals, and keyed look-up hashes reveal that already)."""
    return "s1:" + base64.b64encode(_siv(settings.PII_KEY).encrypt(value.encode(), None)).decode()


def unseal(token: str) -> str:
    """Decrypt a value made by :func:`seal`."""
    if not token.startswith("s1:"):
        raise ValueError("not a sealed value")
    return _siv(settings.PII_KEY).decrypt(base64.b64decode(token[3:]), None).decode()
