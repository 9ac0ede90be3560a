"""The three stores: receipts, returns at the till, and the kiosk on the shop floor.

Store-only customers never visit the site; some web customers also buy in a store. A receipt
carries the buyer's e-mail and/or phone (whatever they gave the cashier), which is how identity
stitching joins it to the same person's web visits. Identified web customers sometimes log in on
the store's kiosk before paying: one anonymous id, many user ids (planted behaviour 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from touchpath.demo import _catalogue as cat
from touchpath.demo._arrow import I64, US_PER_DAY, US_PER_S, Bool
from touchpath.demo._people import Devices, People, kiosk_row
from touchpath.demo._sessions import KIOSK, Visits, products
from touchpath.demo._time import Clock

PRICES = np.asarray([p.price for p in cat.PRODUCTS], dtype=np.int64)


@dataclass
class Receipts:
    person: I64
    ts: I64
    store: I64
    product: I64  # (receipts, 3), -1 where fewer items
    quantity: I64  # (receipts, 3)
    total: I64  # agorot
    email_shown: Bool
    phone_shown: Bool
    email_style: I64  # 0 as typed online, 1 capitalised, 2 with a trailing space
    payment: I64
    number: I64  # per store, in time order

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Returns:
    receipt: I64
    ts: I64
    store: I64
    refund: I64  # agorot
    reason: I64


def plan_store(rng: np.random.Generator, people: People, devices: Devices, clock: Clock,
               ident_time: I64) -> tuple[Receipts, Returns, Visits]:
    n = len(people)
    store_only = ~people.online
    count = np.where(store_only, rng.geometric(0.6, n), 0)
    also = people.online & (rng.random(n) < cat.ALSO_IN_STORE_SHARE)
    count = np.where(also, rng.geometric(0.65, n), count)
    person = np.repeat(np.arange(n), count)
    m = len(person)
    day = rng.integers(0, clock.days, m)
    ts = clock.store_times(rng, clock.start + day * US_PER_DAY)
    ts = np.maximum(ts, clock.start + 9 * 3600 * US_PER_S)  # the window opens at night
    order = np.lexsort((ts, person))
    person, ts = person[order], ts[order]
    store = np.where(rng.random(m) < 0.85, people.home_store[person],
                     rng.integers(0, len(cat.STORES), m))
    n_items = 1 + rng.binomial(2, 0.35, m)
    product = products(rng, 3 * m).reshape(m, 3)
    product[np.arange(3)[None, :] >= n_items[:, None]] = -1
    quantity = np.where(product >= 0, 1 + (rng.random((m, 3)) < 0.1), 0)
    total = (np.where(product >= 0, PRICES[np.maximum(product, 0)], 0) * quantity).sum(axis=1)
    email_shown = rng.random(m) < 0.6
    phone_shown = (rng.random(m) < 0.65) | ~email_shown
    w = np.asarray(cat.PAYMENT_METHODS_STORE_SHARE)
    payment = rng.choice(len(w), m, p=w / w.sum())
    email_style = rng.choice(3, m, p=[0.85, 0.1, 0.05])
    by_store = np.lexsort((ts, store))
    number = np.empty(m, dtype=np.int64)
    per_store = np.bincount(store, minlength=len(cat.STORES))
    number[by_store] = np.arange(m) - np.repeat(np.cumsum(per_store) - per_store, per_store)
    receipts = Receipts(person, ts, store, product, quantity.astype(np.int64), total,
                        email_shown, phone_shown, email_style, payment, number + 10_001)

    returned = np.flatnonzero(rng.random(m) < 0.05)
    r_ts = clock.store_times(rng, ts[returned] + ((1 + rng.uniform(0, 19, len(returned)))
                                                  * US_PER_DAY).astype(np.int64))
    r_ts = np.maximum(r_ts, ts[returned] + US_PER_DAY)
    keep = r_ts < clock.end
    returned, r_ts = returned[keep], r_ts[keep]
    first_item = product[returned, 0]
    returns = Returns(
        returned, r_ts,
        np.where(rng.random(len(returned)) < 0.8, store[returned],
                 rng.integers(0, len(cat.STORES), len(returned))),
        PRICES[first_item] * quantity[returned, 0],
        rng.integers(0, len(cat.RETURN_REASONS), len(returned)),
    )

    # kiosk: an identified web customer logs in on the shop floor before paying
    known = ident_time[person] <= ts - 40 * 60 * US_PER_S
    kiosk = np.flatnonzero(known & (rng.random(m) < 0.2))
    k_start = ts[kiosk] - (rng.uniform(5, 30, len(kiosk)) * 60 * US_PER_S).astype(np.int64)
    visits = Visits(person[kiosk], k_start, kiosk_row(devices, store[kiosk]),
                    np.full(len(kiosk), KIOSK, dtype=np.int64), np.zeros(len(kiosk), bool),
                    np.zeros(len(kiosk), bool))
    return receipts, returns, visits


def join_visits(a: Visits, b: Visits) -> Visits:
    return Visits(*(np.concatenate([getattr(a, f), getattr(b, f)])
                    for f in ("person", "start", "device", "kind", "paid", "ordered")))
