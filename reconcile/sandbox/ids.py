"""Deterministic ids (seeded) and Notion's id normalisation."""

from __future__ import annotations

import random
import string
import uuid
from urllib.parse import quote

# Characters real Notion property ids are made of; the id is sent URL-encoded (e.g. "M%3BBw").
_PROP_ALPHABET = string.ascii_letters + string.digits + ";:<>=?@[]^`{|}~"


class IdMaker:
    """Ids from a seeded RNG, so the same seed builds the same data."""

    def __init__(self, seed: int, salt: str) -> None:
        self._rng = random.Random(f"{salt}-{seed}")

    def uuid(self) -> str:
        """A dashed lower-case UUID (version 4 layout)."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def prop_id(self) -> str:
        """A short, URL-encoded property id like Notion's."""
        return quote("".join(self._rng.choice(_PROP_ALPHABET) for _ in range(4)), safe="")

    def choice(self, options: tuple[str, ...]) -> str:
        """One of the options."""
        return self._rng.choice(options)


def normalize_id(text: object) -> str | None:
    """A Notion id with or without dashes as a dashed lower-case UUID; None when it is not one."""
    if not isinstance(text, str):
        return None
    compact = text.replace("-", "").lower()
    if len(compact) != 32 or any(c not in string.hexdigits for c in compact):
        return None
    return str(uuid.UUID(compact))
