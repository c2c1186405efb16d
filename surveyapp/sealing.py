"""Sealed boxes: AES-GCM over padded JSON, so what the database stores says nothing readable, not even its length.

Drafts are sealed under a key that lives only in the respondent's session cookie; parked answers under the
survey's parking key, a file outside the database (:mod:`surveyapp.invitations.parking`). Lengths are padded to
a multiple of :data:`PAD` so a sealed box's size cannot be matched to the answers it later becomes.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
# Most answer sheets are a few hundred bytes; one size for all of them hides which box became which response.
PAD = 4096


class Unsealable(ValueError):
    """A box that does not open with the key given (another key, another context, or altered bytes)."""


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def key_text(key: bytes) -> str:
    """Return *key* as URL-safe text (for a cookie)."""
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def key_from_text(text: str) -> bytes | None:
    """Return the key written by :func:`key_text`, or None for anything else."""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None
    return key if len(key) == KEY_BYTES else None


def _pad(raw: bytes) -> bytes:
    # Length prefix, then zeros up to the next multiple of PAD.
    body = len(raw).to_bytes(4, "big") + raw
    return body + b"\0" * (-len(body) % PAD)


def _unpad(padded: bytes) -> bytes:
    size = int.from_bytes(padded[:4], "big")
    if size > len(padded) - 4:
        raise Unsealable("the box's length prefix is wrong")
    return padded[4:4 + size]


def seal(key: bytes, value: Any, context: str) -> bytes:
    """Return *value* (JSON-ready) sealed under *key*; *context* must be given again to open it."""
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, _pad(raw), context.encode())


def unseal(key: bytes, box: bytes, context: str) -> Any:
    """Return the value sealed in *box*, or raise Unsealable."""
    if len(box) <= NONCE_BYTES:
        raise Unsealable("the box is too short")
    try:
        padded = AESGCM(key).decrypt(box[:NONCE_BYTES], box[NONCE_BYTES:], context.encode())
    except InvalidTag:
        raise Unsealable("the box does not open with this key") from None
    return json.loads(_unpad(padded))
