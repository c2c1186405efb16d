"""Sealed boxes: AES-GCM over padded JSON, so what the database stores says nothing readable, not even its length.

Drafts are sealed under a key that lives only in the respondent's session cookie; parked answers under the
survey's parking key, a file outside the database (:mod:`surveyapp.invitations.parking`). Lengths are padded to
a multiple of :data:`PAD` so a sealed box's size cannot be matched to the answers it later becomes.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
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


def key_file(path: Path, create: bool = False) -> bytes | None:
    """Return the key kept in file *path* (0600), making it when *create* and it is missing; None when absent.

    Raises ValueError when the file holds something other than a key. A key file is written under a temporary
    name, then linked, so two workers racing to make it both end up reading the one winner.
    """
    if not path.exists() and create:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, new_key())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(key) != KEY_BYTES:
        raise ValueError(f"{path}: not a key ({len(key)} bytes)")
    return key


def destroy_key_file(path: Path) -> None:
    """Overwrite and delete the key file at *path* (nothing sealed under it opens again)."""
    if path.exists():
        with path.open("r+b") as handle:
            handle.write(b"\0" * KEY_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()


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
