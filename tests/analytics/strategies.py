"""Random event logs for the property tests: small, tie-heavy, with properties and traits.

``event_logs()`` draws rows in the store's ``events`` layout; :func:`source_of` turns them into a
:class:`TableSource` (an in-process DuckDB through Ibis, the same code path as the store).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa
from hypothesis import strategies as st

from touchpath.analytics import _period_masks
from touchpath.analytics.source import TableSource
from touchpath.store.schema import MIGRATIONS

START = datetime(2026, 1, 1)
PERSONS = ("p1", "p2", "p3", "p4", "p5")
EVENTS = ("A", "B", "C", "D", "$page")
CHANNELS = ("direct", "email", "paid_search", "store")
PLANS = ("free", "pro", 1, 2.5, True, None)


@cache
def events_schema() -> pa.Schema:
    con = duckdb.connect()
    con.execute(MIGRATIONS[0].statements[0])
    return con.sql("SELECT * FROM events").to_arrow_table().schema


def make_events(rows: list[dict[str, Any]]) -> pa.Table:
    """An ``events`` table from partial rows (missing columns are filled in)."""
    full = []
    for i, row in enumerate(rows):
        ts = row["timestamp"]
        full.append({
            "message_id": row.get("message_id", f"m{i:05d}"),
            "type": row.get("type", "page" if row["event"] == "$page" else "track"),
            "event": row["event"],
            "name": row.get("name"),
            "person_id": row["person_id"],
            "anonymous_id": row.get("anonymous_id", "a-" + row["person_id"]),
            "user_id": row.get("user_id"),
            "group_id": None,
            "previous_id": None,
            "timestamp": ts,
            "original_timestamp": ts,
            "sent_at": None,
            "received_at": ts,
            "loaded_at": ts,
            "source": row.get("source", "web"),
            "channel": row.get("channel", "direct"),
            "utm_source": row.get("utm_source"),
            "utm_medium": row.get("utm_medium"),
            "utm_campaign": row.get("utm_campaign"),
            "referrer": None,
            "page_url": None,
            "session_id": None,
            "revenue": row.get("revenue"),
            "currency": None,
            "email_hash": None,
            "phone_hash": None,
            "ip": None,
            "properties": _json(row.get("properties")),
            "traits": _json(row.get("traits")),
            "context": _json(row.get("context")),
        })
    return pa.Table.from_pylist(full, schema=events_schema())


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def source_of(rows: list[dict[str, Any]]) -> TableSource:
    return TableSource(make_events(rows))


@st.composite
def event_rows(draw: st.DrawFn, max_events: int = 40, minutes: int = 60 * 24 * 20
               ) -> list[dict[str, Any]]:
    """A random log: a few people, few event names, times on a 15-minute grid (many ties),
    message ids in random order (so ties are broken independently of drawing order)."""
    n = draw(st.integers(min_value=0, max_value=max_events))
    ids = draw(st.permutations(range(n)))
    rows = []
    for i in range(n):
        plan = draw(st.sampled_from(PLANS))
        rows.append({
            "message_id": f"m{ids[i]:05d}",
            "person_id": draw(st.sampled_from(PERSONS)),
            "event": draw(st.sampled_from(EVENTS)),
            "timestamp": START + timedelta(minutes=15 * draw(
                st.integers(min_value=0, max_value=minutes // 15))),
            "channel": draw(st.sampled_from(CHANNELS)),
            "revenue": draw(st.sampled_from((None, None, 10.0, 25.5))),
            "utm_campaign": draw(st.sampled_from((None, None, "spring", "summer"))),
            "properties": None if plan is None else {"plan": plan, "n": i % 3},
            "traits": draw(st.sampled_from((None, None, {"tier": "gold"}, {"tier": "silver"}))),
        })
    return rows


@contextmanager
def mask_size(bits: int, words: int) -> Iterator[None]:
    """Period masks of ``bits`` periods per word and at most ``words`` words while inside: small
    masks make random logs span several words (or too many: the way without masks)."""
    saved = _period_masks.MASK_BITS, _period_masks.MASK_WORDS
    _period_masks.MASK_BITS, _period_masks.MASK_WORDS = bits, words
    try:
        yield
    finally:
        _period_masks.MASK_BITS, _period_masks.MASK_WORDS = saved
