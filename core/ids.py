"""Opaque Relay global ids: base64url("Type:pk") without padding."""

import base64
import binascii
from functools import lru_cache


class InvalidGlobalId(ValueError):
    pass


@lru_cache(maxsize=65536)  # ids are rendered for every object of every page: memoize
def encode_id(type_name: str, pk: int) -> str:
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpadded_b64decode(text: str, encoding: str) -> str:
    """The text encoded as URL-safe base64 without its `=` padding (as ids and cursors are)."""
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii")).decode(encoding)


def decode_id(global_id: str) -> tuple[str, int]:
    """Return (type name, primary key); raise InvalidGlobalId for anything malformed."""
    if not isinstance(global_id, str) or not global_id or len(global_id) > 200:
        raise InvalidGlobalId("Invalid ID.")
    try:
        raw = _unpadded_b64decode(global_id, "utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidGlobalId("Invalid ID.") from exc
    type_name, sep, pk = raw.partition(":")
    # ASCII digits only ("²".isdigit() is True) and within BIGINT.
    if (
        not sep
        or not type_name.isalpha()
        or not (pk.isascii() and pk.isdigit())
        or len(pk) > 19
        or int(pk) >= 2**63
    ):
        raise InvalidGlobalId("Invalid ID.")
    return type_name, int(pk)


def decode_id_of(global_id: str, expected: str) -> int:
    type_name, pk = decode_id(global_id)
    if type_name != expected:
        raise InvalidGlobalId(f"Expected an ID of a {expected}.")
    return pk


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = _unpadded_b64decode(cursor, "ascii")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidGlobalId("Invalid cursor.") from exc
    prefix, _, offset = raw.partition(":")
    if prefix != "o" or not (offset.isascii() and offset.isdigit()) or len(offset) > 9:
        raise InvalidGlobalId("Invalid cursor.")
    return int(offset)
