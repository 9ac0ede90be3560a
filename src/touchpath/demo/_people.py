"""Who Olive & Oak's customers are: locale, how they first came, their devices and contacts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from touchpath.demo import _catalogue as cat
from touchpath.demo._arrow import I64, Bool, ints, join, text, uuids
from touchpath.demo._time import Clock

NEVER = np.iinfo(np.int64).max // 4


@dataclass
class People:
    """One row per person (index = person number - 1)."""

    online: Bool  # visits the web or the app (else a store-only customer)
    locale: I64
    acquisition: I64  # index into ACQUISITION; -1 for store-only people
    variant: I64  # traffic variant of the first visit; -1 for store-only people
    coupon: I64  # coupon offered (index into COUPONS) or -1
    first: I64  # first web visit (µs), NEVER for store-only people
    first_name: I64
    last_name: I64
    domain: I64
    phone_prefix: I64
    phone_number: I64  # seven digits, unique per person
    phone_in_traits: Bool
    primary: I64  # device row, -1 for store-only people
    secondary: I64  # device row or -1
    home_store: I64
    family: Bool  # uses another person's device as their second device (over-merge trap)

    def __len__(self) -> int:
        return len(self.online)


@dataclass
class Devices:
    kind: I64  # index into DEVICES
    anon: pa.Array  # the anonymous id the device sends


def _weighted(rng: np.random.Generator, n: int, weights: tuple[float, ...]) -> I64:
    w = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int64)


def variants_of(channel: int, *, acquisition: bool) -> tuple[list[int], list[float]]:
    """The traffic variants of a channel and their weights (a friend's link only as the first
    visit: it carries the friend's code)."""
    rows = [i for i, v in enumerate(cat.VARIANTS) if v.channel == channel
            and (acquisition or v.click_id != "ref")]
    return rows, [cat.VARIANTS[i].weight for i in rows]


def choose_variants(rng: np.random.Generator, channel: I64, *, acquisition: bool) -> I64:
    out = np.full(len(channel), -1, dtype=np.int64)
    for c in range(len(cat.ACQUISITION)):
        rows = np.flatnonzero(channel == c)
        if len(rows):
            variants, weights = variants_of(c, acquisition=acquisition)
            out[rows] = np.asarray(variants)[_weighted(rng, len(rows), tuple(weights))]
    return out


def make_people(rng: np.random.Generator, n: int, clock: Clock) -> tuple[People, Devices]:
    online = rng.random(n) >= cat.STORE_ONLY_SHARE
    locale = _weighted(rng, n, cat.LOCALE_SHARE)
    acquisition = np.where(online, _weighted(rng, n, cat.ACQUISITION_SHARE), -1)
    variant = choose_variants(rng, acquisition, acquisition=True)
    first = np.where(online, clock.web_times(rng, n, horizon=0.92), NEVER)
    in_sale = clock.in_sale(first)
    offered = online & (rng.random(n) < np.where(in_sale, cat.COUPON_SHARE_IN_SALE,
                                                  cat.COUPON_SHARE))
    coupon = np.where(offered, in_sale.astype(np.int64), -1)

    first_name = np.zeros(n, dtype=np.int64)
    last_name = np.zeros(n, dtype=np.int64)
    for loc in range(len(cat.LOCALES)):
        rows = np.flatnonzero(locale == loc)
        first_name[rows] = rng.integers(0, len(cat.FIRST_NAMES[loc]), size=len(rows))
        last_name[rows] = rng.integers(0, len(cat.LAST_NAMES[loc]), size=len(rows))
    domain = _weighted(rng, n, (0.6, 0.25, 0.15))
    phone_prefix = rng.integers(0, len(cat.PHONE_PREFIXES), size=n)
    phone_number = (np.arange(1, n + 1, dtype=np.int64) * 7919 + 1_234_567) % 10_000_000
    phone_in_traits = rng.random(n) < 0.45
    home_store = np.zeros(n, dtype=np.int64)
    for loc in range(len(cat.LOCALES)):
        rows = np.flatnonzero(locale == loc)
        home_store[rows] = _weighted(rng, len(rows),
                                     tuple(s.share_by_locale[loc] for s in cat.STORES))

    # devices: a first device per online person, a second one for some, the store kiosks
    on = np.flatnonzero(online)
    primary_kind = _weighted(rng, len(on), tuple(d.share for d in cat.DEVICES))
    has_second = rng.random(len(on)) < cat.SECOND_DEVICE_SHARE
    second_kind = np.asarray(cat.SECOND_DEVICE_KINDS)[
        _weighted(rng, int(has_second.sum()), cat.SECOND_DEVICE_SHARE_BY_KIND)]
    primary = np.full(n, -1, dtype=np.int64)
    secondary = np.full(n, -1, dtype=np.int64)
    primary[on] = np.arange(len(on))
    owners2 = on[has_second]
    secondary[owners2] = len(on) + np.arange(len(owners2))
    kinds = np.concatenate([primary_kind, second_kind,
                            np.full(len(cat.STORES), cat.KIOSK, dtype=np.int64)])
    anon = pa.concat_arrays([
        uuids(rng, len(on) + len(owners2)),
        pa.array([f"kiosk-{s.code.lower()}-01" for s in cat.STORES], pa.string()),
    ])

    # over-merge trap: family members who share a laptop or tablet (both identify on it)
    family = np.zeros(n, dtype=bool)
    known_early = np.flatnonzero(acquisition == cat.EMAIL)
    sharers = np.intersect1d(known_early, owners2)
    pairs = min(len(sharers), max(3, round(0.004 * len(on))))
    if pairs and len(known_early) > 1:
        b = rng.choice(sharers, size=pairs, replace=False)
        a = rng.choice(known_early, size=pairs)
        ok = a != b
        a, b = a[ok], b[ok]
        secondary[b] = primary[a]
        family[b] = True

    people = People(online, locale, acquisition, variant, coupon, first, first_name, last_name,
                    domain, phone_prefix, phone_number, phone_in_traits, primary, secondary,
                    home_store, family)
    return people, Devices(kinds, anon)


def kiosk_row(devices: Devices, store: I64) -> I64:
    """Device row of each store's kiosk."""
    return len(devices.kind) - len(cat.STORES) + store


def emails(people: People, index: I64) -> pa.Array:
    """The e-mail address of the people at ``index`` (lower case, as they typed it on the web)."""
    firsts = [f for names in cat.FIRST_NAMES for f, _ in names]
    lasts = [x for names in cat.LAST_NAMES for x, _ in names]
    f_off = np.cumsum([0] + [len(x) for x in cat.FIRST_NAMES])[people.locale[index]]
    l_off = np.cumsum([0] + [len(x) for x in cat.LAST_NAMES])[people.locale[index]]
    return join(text(firsts, f_off + people.first_name[index]), ".",
                text(lasts, l_off + people.last_name[index]), ".", ints(index + 1), "@",
                text(cat.EMAIL_DOMAINS, people.domain[index]))


def native_names(people: People, index: I64) -> tuple[pa.Array, pa.Array]:
    """First and last names as written in the person's own script."""
    firsts = [native for names in cat.FIRST_NAMES for _, native in names]
    lasts = [native for names in cat.LAST_NAMES for _, native in names]
    f_off = np.cumsum([0] + [len(x) for x in cat.FIRST_NAMES])[people.locale[index]]
    l_off = np.cumsum([0] + [len(x) for x in cat.LAST_NAMES])[people.locale[index]]
    return (text(firsts, f_off + people.first_name[index]),
            text(lasts, l_off + people.last_name[index]))


def phones_local(people: People, index: I64) -> pa.Array:
    """'054-1234567', the way a cashier types it."""
    return join(text(cat.PHONE_PREFIXES, people.phone_prefix[index]), "-",
                ints(people.phone_number[index], 7))


def phones_e164(people: People, index: I64) -> pa.Array:
    """'+972541234567', the way the sign-up form stores it."""
    prefixes = [p[1:] for p in cat.PHONE_PREFIXES]
    return join("+972", text(prefixes, people.phone_prefix[index]),
                ints(people.phone_number[index], 7))
