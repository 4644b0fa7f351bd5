"""Mask first, cut later: every text the engine shows passes through here.

An invocation's secrets (declared ones, and values read through ``aws.*``) are
*remembered* for the rest of the invocation, so whatever is written after
that (records, reasons, log lines, error messages) is masked with them, even
when the caller did not pass them. :func:`clip` masks before it shortens a
text, and never leaves the beginning of a secret at the end of what it keeps.

A secret is recognised in the forms it takes when something echoes it: as is,
JSON-escaped, ``repr``-escaped (either quote), URL-encoded, base64 at each of
the three byte alignments (``base64("bob:" + password)``) in the standard and
URL-safe alphabets, as a number equal to it, and (for a secret with
punctuation) each run of 8 or more letters and digits in it, which any other
escaping leaves as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

MASK = "***"
ELLIPSIS = "…"
MIN_FRAGMENT = 3
"""A cut text ending in this many characters (or more) of a secret's beginning drops them."""
MIN_BASE64 = 6
"""base64 forms of a shorter secret would mask unrelated text."""
MIN_RUN = 8
"""A secret with punctuation also masks each run of letters and digits this long in it:
whatever escaping shows the punctuation (doubly JSON-escaped, HTML...), those runs stay."""
_RUN = re.compile(rf"[A-Za-z0-9]{{{MIN_RUN},}}")

_active: set[str] = set()


MIN_LEAF = 4
"""A secret that is a JSON object (``{"username": .., "password": ..}``) also masks
each of its texts and numbers at least this long on their own."""


def remember(values: Iterable[Any]) -> None:
    """Mask ``values`` in everything this invocation writes from now on."""
    for value in values:
        if value is None or isinstance(value, bool) or str(value) == "":
            continue
        _active.add(str(value))
        _active.update(_leaves(str(value)))


def _leaves(text: str) -> list[str]:
    import json

    try:
        parsed = json.loads(text) if text[:1] in "{[" else None
    except ValueError:
        return []
    found: list[str] = []
    stack = [parsed]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack += node.values()
        elif isinstance(node, list):
            stack += node
        elif isinstance(node, str | int | float) and not isinstance(node, bool):
            leaf = node if isinstance(node, str) else json.dumps(node)
            if len(leaf) >= MIN_LEAF:
                found.append(leaf)
    return found


def forget() -> None:
    """A new invocation starts with no secrets (handlers call it first)."""
    _active.clear()


def active() -> frozenset[str]:
    return frozenset(_active)


def mask(value: Any, secrets: Iterable[str] | None = None) -> Any:
    """``value`` with every form of every secret replaced by ``***``, inside
    strings, mapping keys and numbers; ``secrets`` adds to the remembered ones."""
    forms = _forms_of(frozenset(_active | {s for s in secrets or () if s}))
    if not forms:
        return value
    return _mask(value, forms)


def clip(text: str, limit: int) -> str:
    """``text`` masked, then cut to ``limit`` characters (``…`` ends a cut text).

    A cut that would end inside something that begins like a secret drops
    that fragment, so not even a secret's first characters are shown.
    """
    text = mask(text)
    if len(text) <= limit:
        return text
    kept = text[: max(0, limit - 1)]
    return drop_fragment(kept) + ELLIPSIS


def drop_fragment(text: str) -> str:
    """``text`` without a tail that is the beginning of a secret (of any form)."""
    forms = _forms_of(frozenset(_active))
    longest = 0
    for form in forms:
        for size in range(min(len(form) - 1, len(text)), MIN_FRAGMENT - 1, -1):
            if size > longest and text.endswith(form[:size]):
                longest = size
                break
    return text[: len(text) - longest] if longest else text


def _mask(value: Any, forms: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for form in forms:
            if form in value:
                value = value.replace(form, MASK)
        return value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return MASK if _number_text(value) in forms else value
    if isinstance(value, Mapping):
        return {_mask(k, forms): _mask(v, forms) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v, forms) for v in value]
    return value


def _number_text(value: float) -> str:
    import json

    return json.dumps(value)


@lru_cache(maxsize=64)
def _forms_of(secrets: frozenset[str]) -> tuple[str, ...]:
    """Every form of every secret, longest first (a longer form masks before its parts)."""
    forms = {form for secret in secrets for form in forms_of(secret)}
    return tuple(sorted(forms, key=lambda f: (-len(f), f)))


def forms_of(secret: str) -> set[str]:
    """The texts ``secret`` can show up as (see the module docstring)."""
    import json
    from urllib.parse import quote, quote_plus

    escaped = json.dumps(secret)[1:-1]
    forms = {secret, escaped, json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms.add(json.dumps(escaped)[1:-1])  # JSON text inside JSON text (an echoed body)
    forms |= {repr(secret)[1:-1], repr(f'"{secret}')[2:-1]}  # repr with either quote
    forms.add(secret.replace("\\", "\\\\").replace("'", "\\'"))
    forms |= {quote(secret, safe=""), quote_plus(secret), quote(secret)}
    if len(secret) >= MIN_BASE64:
        forms |= _base64_forms(secret.encode())
    if _RUN.fullmatch(secret) is None:
        forms |= set(_RUN.findall(secret))
    return {form for form in forms if form}


def _base64_forms(data: bytes) -> set[str]:
    """The characters of base64 that only ``data`` decides, at each alignment
    (``data`` starting 0, 1 or 2 bytes into a 3-byte group), in both alphabets."""
    import base64

    forms = {base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode().rstrip("=")
        first = -(-offset * 8 // 6)  # the first character made only of data's bits
        last = (offset + len(data)) * 8 // 6  # past the last such character
        core = encoded[first:last]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return forms
