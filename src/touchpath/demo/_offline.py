"""The offline sources as the systems would export them, with their import mappings.

* ``pos_sales.csv``: the tills' receipts. Israeli wall-clock times ``DD/MM/YYYY HH:MM``
  (Asia/Jerusalem), totals in shekels, Hebrew store names and payment methods, the buyer's
  e-mail and/or phone as the cashier typed them (some capitalised, some with a stray space).
* ``pos_returns.csv``: goods brought back to a till (event "Product Returned").
* ``helpdesk_tickets.jsonl``: one line per ticket event ("Support Ticket Opened" / "Support Ticket
  Closed"), ISO-8601 times with the +02:00/+03:00 offset, topic, subject in the customer's
  language, resolution.

Each file comes with a mapping in the format ``touchpath import FILE --mapping M.yaml`` reads.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from touchpath.demo import _catalogue as cat
from touchpath.demo import _texts as tx
from touchpath.demo._after import Orders, Tickets
from touchpath.demo._arrow import I64, US_PER_S, ints, join, money, offset_text, pick, text
from touchpath.demo._people import NEVER, People, emails, phones_local
from touchpath.demo._store import Receipts, Returns
from touchpath.demo._time import Clock

POS_SALES_MAPPING: dict[str, Any] = {
    "source": "pos",
    "event": "Order Completed",
    "type": "track",
    "time_format": "%d/%m/%Y %H:%M",
    "timezone": "Asia/Jerusalem",
    "columns": {
        "message_id": "receipt_id",
        "email": "email",
        "phone": "phone",
        "timestamp": "purchased_at",
        "revenue": "total",
        "currency": "currency",
    },
    "properties": ["store_id", "store_name", "items", "item_count", "payment_method"],
}
POS_RETURNS_MAPPING: dict[str, Any] = {
    "source": "pos",
    "event": "Product Returned",
    "type": "track",
    "time_format": "%d/%m/%Y %H:%M",
    "timezone": "Asia/Jerusalem",
    "columns": {
        "message_id": "return_id",
        "email": "email",
        "phone": "phone",
        "timestamp": "returned_at",
    },
    "properties": ["store_id", "store_name", "receipt_id", "product_id", "quantity",
                   "refund_amount", "currency", "reason"],
}
HELPDESK_MAPPING: dict[str, Any] = {
    "source": "helpdesk",
    "type": "track",
    "columns": {
        "message_id": "event_id",
        "event": "event",
        "email": "email",
        "phone": "phone",
        "timestamp": "at",
    },
    "properties": ["ticket_id", "opened_at", "status", "topic", "subject", "via", "priority",
                   "order_id", "resolution"],
}


def _local_text(clock: Clock, utc: I64, fmt: str) -> pa.Array:
    """Wall-clock text, whole seconds (exports do not carry microseconds)."""
    seconds = pa.array(clock.to_local(utc) // US_PER_S, pa.timestamp("s"))
    return pc.strftime(seconds, format=fmt)


def _iso(clock: Clock, utc: I64) -> pa.Array:
    return join(_local_text(clock, utc, "%Y-%m-%dT%H:%M:%S"), offset_text(clock.offset_of_utc(utc)))


def _typed_email(people: People, person: I64, style: I64) -> pa.Array:
    typed = emails(people, person)
    capital = join(pc.utf8_upper(pc.utf8_slice_codeunits(typed, 0, 1)),
                   pc.utf8_slice_codeunits(typed, 1))
    out = pc.if_else(pa.array(style == 1), capital, typed)
    return pc.if_else(pa.array(style == 2), join(typed, " "), out)


def _nullable(mask: np.ndarray, values: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), values, pa.scalar(None, pa.string()))


def receipt_ids(r: Receipts) -> pa.Array:
    return join(text([s.code for s in cat.STORES], r.store), "-", ints(r.number, 6))


def pos_sales(people: People, r: Receipts, clock: Clock) -> pa.Table:
    items: list[pa.Array | str] = []
    for k in range(3):
        p = r.product[:, k]
        item = join(text([x.product_id for x in cat.PRODUCTS], p), "x", ints(r.quantity[:, k]))
        items.append(item if k == 0 else pc.if_else(pa.array(p >= 0), join(";", item), ""))
    return pa.table({
        "receipt_id": receipt_ids(r),
        "purchased_at": _local_text(clock, r.ts, "%d/%m/%Y %H:%M"),
        "store_id": text([s.code for s in cat.STORES], r.store),
        "store_name": text([s.name for s in cat.STORES], r.store),
        "items": join(*items),
        "item_count": pa.array((r.product >= 0).sum(axis=1)),
        "total": money(r.total),
        "currency": text([cat.CURRENCY], np.zeros(len(r), dtype=np.int64)),
        "payment_method": text(cat.PAYMENT_METHODS_STORE, r.payment),
        "email": _nullable(r.email_shown, _typed_email(people, r.person, r.email_style)),
        "phone": _nullable(r.phone_shown, phones_local(people, r.person)),
    })


def pos_returns(people: People, r: Receipts, ret: Returns, clock: Clock) -> pa.Table:
    row = ret.receipt
    return pa.table({
        "return_id": join("RT-", pick(receipt_ids(r), row)),
        "returned_at": _local_text(clock, ret.ts, "%d/%m/%Y %H:%M"),
        "store_id": text([s.code for s in cat.STORES], ret.store),
        "store_name": text([s.name for s in cat.STORES], ret.store),
        "receipt_id": pick(receipt_ids(r), row),
        "product_id": text([x.product_id for x in cat.PRODUCTS], r.product[row, 0]),
        "quantity": pa.array(r.quantity[row, 0]),
        "refund_amount": money(ret.refund),
        "currency": text([cat.CURRENCY], np.zeros(len(row), dtype=np.int64)),
        "reason": text(cat.RETURN_REASONS, ret.reason),
        "email": _nullable(r.email_shown[row], emails(people, r.person[row])),
        "phone": _nullable(r.phone_shown[row], phones_local(people, r.person[row])),
    })


def helpdesk(people: People, t: Tickets, orders: Orders, clock: Clock) -> pa.Table:
    """Ticket events, opened then closed, in time order."""
    closed = np.flatnonzero(t.closed < NEVER)
    row = np.concatenate([np.arange(len(t)), closed])
    is_close = np.concatenate([np.zeros(len(t), bool), np.ones(len(closed), bool)])
    at = np.where(is_close, t.closed[row], t.opened[row])
    order = np.lexsort((is_close, at))
    row, is_close, at = row[order], is_close[order], at[order]
    ticket_id = join("ZD-", ints(row + 200_001))
    topic = t.topic[row]
    lang = people.locale[t.person[row]]
    subjects = [s for lang_subjects in tx.TICKET_SUBJECTS for s in lang_subjects]
    resolution_names = [cat.TICKET_RESOLUTIONS[name] for name in cat.TICKET_TOPICS]
    flat_res = [r for names in resolution_names for r in names]
    res_start = np.cumsum([0] + [len(x) for x in resolution_names])[:-1]
    via = t.via[row]
    phone_known = np.isin(via, (1, 3))  # phone and WhatsApp tickets record the number
    order_row = t.order[row]
    open_at = _iso(clock, t.opened[row])
    valid_order = order_row >= 0
    return pa.table({
        "event_id": join(ticket_id, pc.if_else(pa.array(is_close), "-closed", "-opened")),
        "ticket_id": ticket_id,
        "event": pc.if_else(pa.array(is_close), "Support Ticket Closed", "Support Ticket Opened"),
        "at": _iso(clock, at),
        "opened_at": open_at,
        "status": pc.if_else(pa.array(is_close), "solved", "open"),
        "email": emails(people, t.person[row]),
        "phone": _nullable(phone_known, phones_local(people, t.person[row])),
        "topic": text(cat.TICKET_TOPICS, topic),
        "subject": text(subjects, lang * len(cat.TICKET_TOPICS) + topic),
        "via": text(cat.TICKET_VIA, via),
        "priority": text(["normal", "high"], (topic == 1) | (topic == 5)),
        "order_id": _nullable(valid_order, join("OO-", ints(np.maximum(order_row, 0) + 100_001))),
        "resolution": _nullable(is_close, text(flat_res, res_start[topic] + t.resolution[row])),
    })


def write(directory: Path, sales: pa.Table, returns: pa.Table,
          tickets: pa.Table) -> list[tuple[Path, dict[str, Any]]]:
    """Write the three files and a ``.mapping.yaml`` next to each; return (file, mapping)."""
    directory.mkdir(parents=True, exist_ok=True)
    out: list[tuple[Path, dict[str, Any]]] = []
    for name, table, mapping in (("pos_sales.csv", sales, POS_SALES_MAPPING),
                                 ("pos_returns.csv", returns, POS_RETURNS_MAPPING)):
        path = directory / name
        _write_csv(table, path)
        out.append((path, mapping))
    path = directory / "helpdesk_tickets.jsonl"
    with path.open("wb") as fh:
        # a help desk leaves empty fields out, but not the fields of its export's schema
        # (those the mapping names): a small demo may have no ticket by phone at all
        schema = {*HELPDESK_MAPPING["columns"].values(), *HELPDESK_MAPPING["properties"]}
        for record in tickets.to_pylist():
            fh.write(orjson.dumps({k: v for k, v in record.items()
                                   if v is not None or k in schema}))
            fh.write(b"\n")
    out.append((path, HELPDESK_MAPPING))
    for path, mapping in out:
        mapping_path = path.with_suffix(".mapping.yaml")
        mapping_path.write_text(yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False),
                                encoding="utf-8")
    return [(p, _copy(m)) for p, m in out]


def _write_csv(table: pa.Table, path: Path) -> None:
    """Quote only what needs it (store names hold a comma), as a till's export does."""
    columns = [table.column(name).to_pylist() for name in table.column_names]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(table.column_names)
        writer.writerows(zip(*columns, strict=True))


def _copy(mapping: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(mapping))  # type: ignore[no-any-return]
