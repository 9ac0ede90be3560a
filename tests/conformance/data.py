"""The event logs of the conformance suite, written once as Parquet in the layout of
``touchpath export`` (``events/date=YYYY-MM-DD/*.parquet``) so both engines read the same files.

``small_log`` is deterministic and tie-heavy: 60 people, the demo's funnel events plus A/B/$page,
times on a 15-minute grid over 70 days (many equal timestamps, broken by message id), channels,
revenue on orders, JSON properties and traits.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from tests.analytics.strategies import make_events

START = datetime(2026, 1, 5)
FUNNEL = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
OTHER = ("A", "B", "$page", "Support Ticket")
CHANNELS = ("direct", "email", "paid_search", "paid_social", "organic_search")
PLANS = ("free", "pro", 1, 2.5, True, None)


def small_log_rows(seed: int = 8, persons: int = 60) -> list[dict[str, Any]]:
    """Each person walks part of the funnel (some in order, some not), with noise events."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for p in range(persons):
        person = f"p{p:03d}"
        channel = rng.choice(CHANNELS)
        tier = rng.choice((None, "gold", "silver"))
        clock = rng.randrange(0, 70 * 96 - 400)
        for _visit in range(rng.randint(1, 4)):
            depth = rng.randint(1, len(FUNNEL))
            names = list(FUNNEL[:depth]) + rng.sample(OTHER, rng.randint(0, 3))
            if rng.random() < 0.3:
                rng.shuffle(names)
            for name in names:
                clock += rng.choice((0, 0, 1, 2, 5))  # zero: a tie with the previous event
                plan = rng.choice(PLANS)
                rows.append({
                    "person_id": person,
                    "event": name,
                    "timestamp": START + timedelta(minutes=15 * clock),
                    "channel": channel if rng.random() < 0.8 else rng.choice(CHANNELS),
                    "revenue": round(rng.uniform(5, 200), 2) if name == "Order Completed" else None,
                    "utm_campaign": rng.choice((None, None, "spring", "summer")),
                    "properties": None if plan is None else {"plan": plan, "n": len(rows) % 3},
                    "traits": None if tier is None else {"tier": tier},
                })
            clock += rng.choice((4, 40, 300, 900))  # a new session, or days later
    order = list(range(len(rows)))
    rng.shuffle(order)  # message ids independent of time order, so ties are really broken by id
    for row, number in zip(rows, order, strict=True):
        row["message_id"] = f"m{number:05d}"
    return rows


def write_export(rows: list[dict[str, Any]], directory: Path) -> Path:
    """Write ``rows`` as ``directory/events/date=.../*.parquet`` (the export layout)."""
    con = duckdb.connect()
    con.register("_rows", make_events(rows))
    con.sql("SELECT *, CAST(timestamp AS DATE) AS date FROM _rows").write_parquet(
        str(directory / "events"), partition_by=["date"], compression="zstd")
    con.close()
    return directory
