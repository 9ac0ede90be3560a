"""Realistic synthetic omnichannel journeys of *Olive & Oak*, a home-goods retailer.

Olive & Oak sells online (a website and iOS/Android apps) and in three stores (Tel Aviv, Haifa,
Jerusalem), e-mails a weekly newsletter and runs a help desk. :func:`generate` draws its
customers' journeys for a seed: the online touchpoints as an ``INCOMING`` Arrow table (web and
app visits, e-mail deliveries/opens/clicks, survey answers, reviews, referrals, refunds) and the
offline sources as files in their systems' own formats (POS receipts and returns, help-desk
tickets) with their import mappings (:meth:`Demo.write_offline_files`).

>>> demo = generate(DemoSpec(people=300, seed=1))
>>> demo.events.schema.names[:3]
['message_id', 'type', 'event']

The same spec always gives the same data. Sizes: ``people_for_size("small")`` (2,000 people,
about 23k events), ``"medium"`` (50,000), ``"large"`` (1,000,000 people, about 11M events).
On average a person has about :data:`EVENTS_PER_PERSON` online events (store-only customers
have none, a web visitor 12-15) plus about 0.5 offline rows.

Planted behaviours, measured on 200,000 people ("raw": from ``events`` with a simple stitch;
"truth": from ``Demo.people``); ``docs/demo-data.md`` says how each is planted and measured:

===  ==========================================================  ===============================
 #   behaviour                                                   size as generated
===  ==========================================================  ===============================
 1   e-mail-acquired visitors reach "Order Completed" about 2x   raw 18.4% vs 8.5% (2.2x);
     as often as paid-social ones (first-touch channel)          truth 17.6% vs 9.0% (2.0x)
 2   payment-step bug: from "Checkout Step Completed" step 2     40% go on vs 80% elsewhere
     to "Payment Info Entered", Safari (userAgent has "Safari"   (drop 60% vs 20%)
     but not "Chrome"/"Android") and ``source="ios"`` drop
 3   people who opened a help-desk ticket are detractors         NPS -52 vs +42; CSAT after a
                                                                 ticket 2.8/5, on delivery 4.2
 4   a coupon lifts conversion; referred customers buy again     coupon 16.4% vs 10.8% order;
                                                                 repeat 42.7% vs 19.6%
 5   late identification: anonymous visits days before the      47% of buyers identify over a
     sign-up at checkout                                         day after their first event
 6   over-merge traps: kiosks ("kiosk-tlv-01"), family devices   3 kiosk ids with hundreds of
     shared by two user ids, placeholder user ids ("null",       user ids; 0.4% of visitors on
     "0", "anonymous", "undefined")                              a family device; 1 in 2,000
===  ==========================================================  ===============================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from touchpath.demo import _catalogue as cat
from touchpath.demo._after import (
    Tickets,
    add_after,
    add_email,
    make_orders,
    plan_surveys,
    plan_tickets,
)
from touchpath.demo._arrow import US_PER_DAY, ints, join, text, to_us
from touchpath.demo._frame import FrameBuilder
from touchpath.demo._offline import helpdesk, pos_returns, pos_sales, write
from touchpath.demo._people import People, emails, make_people, phones_local
from touchpath.demo._render import Renderer, World
from touchpath.demo._sessions import (
    S_PAYINFO,
    S_STEP2,
    Identity,
    Sessions,
    expand,
    finalize,
    make_campaigns,
    plan_visits,
)
from touchpath.demo._store import Receipts, join_visits, plan_store
from touchpath.demo._time import Clock

__all__ = ["EVENTS_PER_PERSON", "Demo", "DemoSpec", "events_per_person_estimate", "generate",
           "people_for_size"]

EVENTS_PER_PERSON = 11.4
"""Online events per person on average (all people, store-only customers included)."""

SIZES = {"small": 2_000, "medium": 50_000, "large": 1_000_000}


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: how many people, which seed, and the window (naive UTC start)."""

    people: int = 2000
    seed: int = 7
    start: datetime = datetime(2026, 1, 1)  # naive UTC, the store's convention
    days: int = 180

    def __post_init__(self) -> None:
        if self.people < 1:
            raise ValueError("people must be at least 1")
        if self.days < 7:
            raise ValueError("days must be at least 7")


@dataclass(frozen=True)
class Demo:
    """Generated data: online ``events`` (``INCOMING``), offline tables and the truth.

    ``people`` is the ground truth per person (acquisition channel, devices, whether and when
    they identified, orders, tickets) for tests that check the analytics find the planted
    behaviours. ``pos_sales``, ``pos_returns`` and ``tickets`` are the offline rows as their
    files hold them.
    """

    spec: DemoSpec
    events: pa.Table
    people: pa.Table
    pos_sales: pa.Table
    pos_returns: pa.Table
    tickets: pa.Table
    stats: dict[str, float] = field(default_factory=dict)

    def write_offline_files(self, directory: Path) -> list[tuple[Path, dict[str, Any]]]:
        """Write ``pos_sales.csv``, ``pos_returns.csv`` and ``helpdesk_tickets.jsonl`` (and a
        ``.mapping.yaml`` beside each) into ``directory``; return (file, mapping) pairs.

        The mapping dicts follow the import mapping format (``source``, ``event``, ``type``,
        ``time_format``, ``timezone``, ``columns``, ``properties``).
        """
        return write(Path(directory), self.pos_sales, self.pos_returns, self.tickets)


def people_for_size(size: str) -> int:
    """Number of people for a named size ('small', 'medium', 'large') or a number ('5000')."""
    key = size.strip().lower().replace("_", "").replace(",", "")
    if key in SIZES:
        return SIZES[key]
    if key.isdigit() and int(key) > 0:
        return int(key)
    raise ValueError(f"size must be small, medium, large or a number of people, got {size!r}")


def events_per_person_estimate() -> float:
    """Online events per person on average (about 10-11; a web visitor alone 12-15)."""
    return EVENTS_PER_PERSON


def generate(spec: DemoSpec) -> Demo:
    """Draw Olive & Oak's journeys for ``spec`` (deterministic for its seed)."""
    rng = np.random.default_rng(spec.seed)
    start_us = to_us(spec.start)
    clock = Clock(start_us, spec.days)
    people, devices = make_people(rng, spec.people, clock)
    campaigns = make_campaigns(clock)
    visits, ident = plan_visits(rng, people, devices.kind, clock)
    receipts, returns, kiosk = plan_store(rng, people, devices, clock, ident.time)
    visits = join_visits(visits, kiosk)
    sessions = finalize(rng, visits, ident, people, devices.kind, clock, campaigns)
    builder = FrameBuilder()
    order_time = expand(rng, sessions, builder, devices.kind)
    orders = make_orders(rng, sessions, order_time, clock)
    tickets = plan_tickets(rng, sessions, orders, receipts, ident.time, devices.kind, clock)
    surveys = plan_surveys(rng, people, orders, receipts, tickets, ident.time, clock)
    add_email(rng, sessions, people, ident.time, campaigns, clock, builder)
    add_after(rng, sessions, people, orders, tickets, surveys, clock, builder)
    frame = builder.build(clock.end)
    world = World(spec.seed, people, devices, sessions, orders, surveys, campaigns)
    events = Renderer(world, frame, rng).table()
    truth = _truth(people, devices.kind, ident, sessions, receipts, tickets, orders.person,
                   orders.ts, clock)
    return Demo(
        spec=spec,
        events=events,
        people=truth,
        pos_sales=pos_sales(people, receipts, clock),
        pos_returns=pos_returns(people, receipts, returns, clock),
        tickets=helpdesk(people, tickets, orders, clock),
        stats={"events": float(events.num_rows),
               "events_per_person": events.num_rows / spec.people,
               "days": float(spec.days), "start_us": float(start_us),
               "end_us": float(start_us + spec.days * US_PER_DAY)},
    )


def _truth(people: People, device_kind: np.ndarray, ident: Identity, s: Sessions,
           receipts: Receipts, tickets: Tickets, order_person: np.ndarray,
           order_ts: np.ndarray, clock: Clock) -> pa.Table:
    n = len(people)
    index = np.arange(n)
    known = ident.time < clock.end
    reached = np.zeros(n, dtype=bool)
    reached[s.person[s.counts[:, S_STEP2] > 0]] = True
    paid = np.zeros(n, dtype=bool)
    paid[s.person[s.counts[:, S_PAYINFO] > 0]] = True
    valid = order_ts >= 0
    kinds = [d.kind for d in cat.DEVICES]
    second = people.secondary
    return pa.table({
        "person": pa.array(index + 1),
        "user_id": pc.if_else(pa.array(known), join("cust-", ints(index + 1, 7)),
                              pa.scalar(None, pa.string())),
        "email": emails(people, index),
        "phone": phones_local(people, index),
        "locale": text(cat.LOCALES, people.locale),
        "store_only": pa.array(~people.online),
        "acquisition": text(cat.ACQUISITION, people.acquisition),
        "first_visit": pa.array(np.where(people.online, people.first, 0), pa.timestamp("us"),
                                mask=~people.online),
        "first_device": text(kinds, np.where(people.primary >= 0,
                                             device_kind[np.maximum(people.primary, 0)], -1)),
        "second_device": text(kinds, np.where(second >= 0,
                                              device_kind[np.maximum(second, 0)], -1)),
        "shares_family_device": pa.array(people.family),
        "coupon": text(cat.COUPONS, people.coupon),
        "identified_at": pa.array(np.where(known, ident.time, 0), pa.timestamp("us"),
                                  mask=~known),
        "reached_checkout_step_2": pa.array(reached),
        "entered_payment": pa.array(paid),
        "online_orders": pa.array(np.bincount(order_person[valid], minlength=n)),
        "store_receipts": pa.array(np.bincount(receipts.person, minlength=n)),
        "tickets": pa.array(np.bincount(tickets.person, minlength=n)),
    })
