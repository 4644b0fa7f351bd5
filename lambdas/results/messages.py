"""What a run's listeners captured: one item per message, apart from the run's items
(:func:`~itest.lambdas.results.store.listener_pk`), so reading a run never grows with them."""

from __future__ import annotations

from typing import Any

from itest.lambdas.results import store
from itest.lambdas.results.json_text import dumps, loads
from itest.lambdas.results.summaries import summarize

MESSAGE_LIMIT = 300 * 1024
"""The most of one captured event kept (an EventBridge event or SNS message is at most
256 KiB; masking may add a little)."""


def write_message(run_id: str, listener: str, key: str, *, arrived: float, message: Any) -> None:
    """Keep one captured message (``key``: its own id, so a redelivery overwrites it);
    one too big for an item keeps its shape, summarized."""
    text = dumps(message)
    if len(text.encode()) > MESSAGE_LIMIT:
        text = summarize(message, MESSAGE_LIMIT)
    store.put_item(store.listener_pk(run_id, listener), key, arrived=arrived, message_json=text)


def read_messages(run_id: str, listener: str) -> list[tuple[float, Any]]:
    """``(arrived, message)`` of every message a listener captured, oldest first."""
    items = store.read_items(store.listener_pk(run_id, listener)).values()
    return sorted(
        ((float(item.get("arrived", 0)), loads(item.get("message_json"), None)) for item in items),
        key=lambda pair: pair[0],
    )
