"""A value cut to a size, keeping its shape, for what does not fit in an item."""

from __future__ import annotations

from typing import Any

from itest.lambdas.masking import drop_fragment
from itest.lambdas.results.json_text import dumps


def summarize(value: Any, limit: int) -> str:
    """JSON text of ``value`` at most ``limit`` bytes.

    A bigger value keeps its shape (so ``result.status`` still reads the same)
    with long strings and arrays cut, each cut saying how much was left out;
    when even that is too big, a ``{"__truncated__": true, "bytes": n,
    "preview": ...}`` marker.
    """
    text = dumps(value)
    size = len(text.encode())
    if size <= limit:
        return text
    for chars, items in ((2048, 100), (512, 20), (128, 5), (32, 2)):
        shrunk = dumps(_shrink(value, chars, items))
        if len(shrunk.encode()) <= limit:
            return shrunk
    preview = drop_fragment(text.encode()[: limit - 200].decode(errors="ignore"))
    return dumps({"__truncated__": True, "bytes": size, "preview": preview})


def _shrink(value: Any, chars: int, items: int) -> Any:
    if isinstance(value, str):
        if len(value) <= chars:
            return value
        return f"{drop_fragment(value[:chars])}… [{len(value) - chars:,} more characters]"
    if isinstance(value, dict):
        keep = items * 10
        kept = {k: _shrink(v, chars, items) for k, v in list(value.items())[:keep]}
        if len(value) > keep:
            kept["…"] = f"[{len(value) - keep:,} more keys]"
        return kept
    if isinstance(value, list):
        kept = [_shrink(v, chars, items) for v in value[:items]]
        if len(value) > items:
            kept.append(f"… [{len(value) - items:,} more items]")
        return kept
    return value
