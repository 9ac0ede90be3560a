"""Visits to the site and the app: when they happen, where they come from, how deep they go.

A visitor's journey is planned before it is written: whether they will reach the checkout
(by acquisition channel and coupon), how many browsing visits come first (days apart, still
anonymous), which device each visit is on, whether the payment step fails (Safari and the iOS
app), whether they come back to buy again. Each visit is then a row of slot counts (landing page,
pages, search, product views, cart, checkout steps, order) that expands to events in one
``np.repeat``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from touchpath.demo import _catalogue as cat
from touchpath.demo import _frame as fr
from touchpath.demo._arrow import EPOCH, I64, US_PER_DAY, US_PER_H, US_PER_S, Bool
from touchpath.demo._people import NEVER, People, choose_variants
from touchpath.demo._time import Clock

# the slots of a visit, in the order they happen
(S_LAND, S_ID1, S_PAGES, S_SEARCH, S_PRODUCT, S_ADDED, S_CART, S_COUPON, S_CHECKOUT, S_IDCO,
 S_SIGNCO, S_STEP1, S_STEP2, S_PAYINFO, S_STEP3, S_ORDER, S_IDNEWS, S_SIGNNEWS) = range(18)
N_SLOTS = 18
SLOT_KIND = np.array([
    fr.LANDING, fr.IDENTIFY, fr.PAGE, fr.SEARCH, fr.PRODUCT_VIEWED, fr.PRODUCT_ADDED,
    fr.CART_VIEWED, fr.COUPON_APPLIED, fr.CHECKOUT_STARTED, fr.IDENTIFY, fr.SIGNED_UP,
    fr.CHECKOUT_STEP, fr.CHECKOUT_STEP, fr.PAYMENT_INFO, fr.CHECKOUT_STEP, fr.ORDER_COMPLETED,
    fr.IDENTIFY, fr.SIGNED_UP,
], dtype=np.int64)
QUICK_SLOTS = np.zeros(N_SLOTS, dtype=bool)
QUICK_SLOTS[[S_ID1, S_COUPON, S_IDCO, S_SIGNCO, S_IDNEWS, S_SIGNNEWS]] = True
NO_USER = N_SLOTS  # user_from value of a visit where the person stays anonymous

BROWSE, DECISION, REPEAT, AFTER, KIOSK = range(5)
# identify flavours (the renderer's ``a`` of an identify row)
ID_SIGNUP, ID_LOGIN, ID_NEWSLETTER, ID_EMAIL_LINK = range(4)
BUG = np.array([d.bug for d in cat.DEVICES])
BROWSE_PAGES = (cat.HOME, *range(cat.CATEGORY0, cat.CATEGORY0 + len(cat.CATEGORIES)),
                cat.SALE_PAGE, cat.NEW_PAGE, cat.BLOG_PAGE, cat.STORES_PAGE, cat.ABOUT_PAGE)
BROWSE_PAGE_WEIGHTS = (0.15, *(0.55 / len(cat.CATEGORIES),) * len(cat.CATEGORIES), 0.10, 0.08,
                       0.05, 0.04, 0.03)


@dataclass
class Visits:
    """Visits before they are ordered: who, when, on which device, and what kind."""

    person: I64
    start: I64
    device: I64
    kind: I64
    paid: Bool  # went on from checkout step 2 to payment (decision and repeat visits)
    ordered: Bool


@dataclass
class Identity:
    """When and where each person first tells us who they are."""

    time: I64  # NEVER when they never identify
    visit: I64  # index into the planned visits, -1
    slot: I64  # S_ID1, S_IDCO or S_IDNEWS


@dataclass
class Sessions:
    """Visits sorted by person and time, with everything the renderer needs."""

    person: I64
    start: I64
    device: I64
    kind: I64
    rank: I64  # 0 for a person's first visit
    variant: I64
    campaign: I64  # index into the campaign names, -1
    referrer: I64  # person whose referral code the landing URL carries, -1
    user_from: I64  # first slot that carries the user id (NO_USER: none)
    counts: I64  # (visits, N_SLOTS)
    product: I64  # the product the visit is about
    quantity: I64
    coupon: I64  # coupon applied, -1
    order: I64  # row in the orders table, -1
    landing: I64  # page of the landing event

    def __len__(self) -> int:
        return len(self.person)



def products(rng: np.random.Generator, n: int) -> I64:
    w = np.asarray(cat.PRODUCT_WEIGHTS)
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int64)


def _chain(rng: np.random.Generator, clock: Clock, t0: I64, counts: I64, mean_days: float,
           min_days: float, first_at_t0: bool) -> tuple[I64, I64, I64]:
    """Times of ``counts[i]`` visits after ``t0[i]``, days apart; returns (owner, rank, time)."""
    owner = np.repeat(np.arange(len(t0)), counts)
    if len(owner) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(owner)) - np.repeat(starts, counts)
    gaps = ((min_days + rng.exponential(mean_days, len(owner))) * US_PER_DAY).astype(np.int64)
    if first_at_t0:
        gaps[rank == 0] = 0
    cs = np.cumsum(gaps)
    before = cs[np.minimum(starts, len(cs) - 1)] - gaps[np.minimum(starts, len(cs) - 1)]
    times = t0[owner] + cs - np.repeat(before, counts)
    moved = gaps > 0
    times[moved] = clock.at_web_hour(rng, times[moved])
    return owner, rank, times


def _later_device(rng: np.random.Generator, people: People, person: I64) -> I64:
    second = people.secondary[person]
    use = (second >= 0) & (rng.random(len(person)) < 0.45)
    return np.where(use, second, people.primary[person])


def _checkout(rng: np.random.Generator, device_kind: I64) -> tuple[Bool, Bool]:
    """Planted behaviour 2: the payment step fails far more often on Safari and iOS."""
    p = np.where(BUG[device_kind], cat.PAYMENT_PASS_BUG, cat.PAYMENT_PASS)
    paid = rng.random(len(device_kind)) < p
    ordered = paid & (rng.random(len(device_kind)) < 0.97 * 0.985)
    return paid, ordered


def plan_visits(rng: np.random.Generator, people: People, device_kind: I64,
                clock: Clock) -> tuple[Visits, Identity]:
    """Browsing, decision, repeat-purchase and after-purchase visits, and identification."""
    n = len(people)
    last = clock.end - US_PER_H
    on = np.flatnonzero(people.online)
    acq = people.acquisition[on]
    p_reach = np.asarray(cat.REACH_CHECKOUT)[acq] * np.where(people.coupon[on] >= 0,
                                                             cat.COUPON_LIFT, 1.0)
    reach = rng.random(len(on)) < p_reach
    n_browse = np.where(reach, rng.geometric(0.5, len(on)) - 1, rng.geometric(0.55, len(on)))

    # browsing visits, days apart (planted behaviour 5: anonymous until the decision visit)
    owner, rank, b_time = _chain(rng, clock, people.first[on], n_browse, 2.5, 0.1, True)
    b_person = on[owner]
    b_device = np.where(rank == 0, people.primary[b_person],
                        _later_device(rng, people, b_person))
    last_browse = np.full(len(on), -1, dtype=np.int64)
    np.maximum.at(last_browse, owner, b_time)

    # the decision visit: the checkout, where the payment step may fail
    d_owner = np.flatnonzero(reach)
    d_time = np.where(n_browse[d_owner] == 0, people.first[on][d_owner],
                      last_browse[d_owner])
    later = n_browse[d_owner] > 0
    d_time[later] = clock.at_web_hour(
        rng, d_time[later] + ((0.05 + rng.exponential(1.5, int(later.sum()))) * US_PER_DAY
                              ).astype(np.int64))
    keep = d_time < last
    d_owner, d_time, later = d_owner[keep], d_time[keep], later[keep]
    d_person = on[d_owner]
    d_device = np.where(later, _later_device(rng, people, d_person), people.primary[d_person])
    d_paid, d_ordered = _checkout(rng, device_kind[d_device])

    # repeat purchases (planted behaviour 4b: referred customers come back more)
    buyers = d_person[d_ordered]
    intent = np.where(people.acquisition[buyers] == cat.REFERRAL, cat.REPEAT_INTENT_REFERRAL,
                      cat.REPEAT_INTENT)
    n_repeat = np.where(rng.random(len(buyers)) < intent, rng.geometric(0.55, len(buyers)), 0)
    r_owner, _, r_time = _chain(rng, clock, d_time[d_ordered], n_repeat, 28.0, 1.0, False)
    r_person = buyers[r_owner]
    r_device = _later_device(rng, people, r_person)
    r_paid, r_ordered = _checkout(rng, device_kind[r_device])

    n_after = rng.poisson(0.8, len(buyers))
    a_owner, _, a_time = _chain(rng, clock, d_time[d_ordered], n_after, 20.0, 0.5, False)
    a_person = buyers[a_owner]
    a_device = _later_device(rng, people, a_person)

    nb, nd, nr, na = len(b_person), len(d_person), len(r_person), len(a_person)
    visits = Visits(
        person=np.concatenate([b_person, d_person, r_person, a_person]),
        start=np.concatenate([b_time, d_time, r_time, a_time]),
        device=np.concatenate([b_device, d_device, r_device, a_device]),
        kind=np.repeat(np.array([BROWSE, DECISION, REPEAT, AFTER]), [nb, nd, nr, na]),
        paid=np.concatenate([np.zeros(nb, bool), d_paid, r_paid, np.zeros(na, bool)]),
        ordered=np.concatenate([np.zeros(nb, bool), d_ordered, r_ordered, np.zeros(na, bool)]),
    )

    # identification: e-mail visitors are known from their first click, buyers at checkout,
    # some browsers leave their e-mail for the newsletter
    ident = Identity(np.full(n, NEVER, dtype=np.int64), np.full(n, -1, dtype=np.int64),
                     np.full(n, -1, dtype=np.int64))
    first_visit = np.where(rank == 0)[0]
    email_first = first_visit[people.acquisition[b_person[first_visit]] == cat.EMAIL]
    ident.visit[b_person[email_first]] = email_first
    ident.slot[b_person[email_first]] = S_ID1
    d_first = np.flatnonzero(~later)
    d_email = d_first[people.acquisition[d_person[d_first]] == cat.EMAIL]
    ident.visit[d_person[d_email]] = nb + d_email
    ident.slot[d_person[d_email]] = S_ID1
    at_checkout = people.acquisition[d_person] != cat.EMAIL
    ident.visit[d_person[at_checkout]] = nb + np.flatnonzero(at_checkout)
    ident.slot[d_person[at_checkout]] = S_IDCO
    # newsletter sign-up in the last browsing visit of someone who will not buy
    is_last = np.zeros(nb, dtype=bool)
    if nb:
        is_last[np.cumsum(n_browse[n_browse > 0]) - 1] = True
    candidates = np.flatnonzero(is_last & (ident.visit[b_person] < 0) & (b_time < last))
    signs = candidates[rng.random(len(candidates)) < cat.NEWSLETTER_SIGNUP]
    ident.visit[b_person[signs]] = signs
    ident.slot[b_person[signs]] = S_IDNEWS
    known = ident.visit >= 0
    ident.time[known] = visits.start[ident.visit[known]]
    return visits, ident


def _campaign_of_email_visit(sends: I64, start: I64) -> I64:
    """Index of the newsletter a visit came from (the last one sent before it), or -1."""
    return np.searchsorted(sends, start - 5 * 60 * US_PER_S, side="right") - 1


def finalize(rng: np.random.Generator, visits: Visits, ident: Identity, people: People,
             device_kind: I64, clock: Clock, campaigns: Campaigns) -> Sessions:
    """Order the visits, give each its traffic source, identity slot and slot counts."""
    order = np.lexsort((visits.start, visits.person))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    person, start = visits.person[order], visits.start[order]
    device, kind = visits.device[order], visits.kind[order]
    paid, ordered = visits.paid[order], visits.ordered[order]
    n = len(person)
    new_person = np.ones(n, dtype=bool)
    new_person[1:] = person[1:] != person[:-1]
    first_row = np.maximum.accumulate(np.where(new_person, np.arange(n), 0))
    rank = np.arange(n) - first_row

    # traffic: the acquisition variant first, then a returning mix
    id_time = ident.time[person]
    channel = np.asarray(cat.RETURN_TRAFFIC)[
        rng.choice(len(cat.RETURN_SHARE), size=n, p=np.asarray(cat.RETURN_SHARE))]
    channel = np.where((channel == cat.EMAIL) & (start <= id_time), cat.DIRECT, channel)
    channel = np.where(kind == KIOSK, cat.DIRECT, channel)
    variant = choose_variants(rng, channel, acquisition=False)
    variant = np.where(rank == 0, people.variant[person], variant)
    v_campaign = np.asarray([campaigns.index.get(v.utm_campaign or "", -1)
                             for v in cat.VARIANTS])
    campaign = v_campaign[variant]
    is_email = variant == cat.EMAIL_VARIANT
    news = _campaign_of_email_visit(campaigns.sends, start)
    campaign = np.where(is_email, np.where(news >= 0, campaigns.first_newsletter + news,
                                           campaigns.welcome), campaign)
    coupon_first = (rank == 0) & (people.coupon[person] >= 0) & (campaign >= 0) & ~is_email
    campaign = np.where(coupon_first,
                        campaigns.first_coupon + np.maximum(people.coupon[person], 0), campaign)

    # who is known in which visit (planted behaviour 5; kiosks: planted behaviour 6)
    ident_row = np.where(ident.visit[person] >= 0, inverse[np.maximum(ident.visit[person], 0)],
                         -1)
    is_ident = ident_row == np.arange(n)
    after = (start >= id_time) & ~is_ident
    user_from = np.full(n, NO_USER, dtype=np.int64)
    user_from[is_ident] = ident.slot[person[is_ident]]
    # the first visit on each device after identification logs in (an identify call)
    by_device = np.lexsort((start, device, person))
    a_sorted = after[by_device]
    key_change = np.ones(n, dtype=bool)
    key_change[1:] = (person[by_device][1:] != person[by_device][:-1]) | (
        device[by_device][1:] != device[by_device][:-1])
    prev_after = np.zeros(n, dtype=bool)
    prev_after[1:] = a_sorted[:-1]
    first_after = a_sorted & (key_change | ~prev_after)
    login = np.zeros(n, dtype=bool)
    login[by_device[first_after]] = True
    ident_device = np.where(ident_row >= 0, device[np.maximum(ident_row, 0)], -2)
    login &= device != ident_device
    user_from[after] = 0
    user_from[login] = S_ID1
    user_from[kind == KIOSK] = S_ID1
    login |= kind == KIOSK

    counts = _counts(rng, kind, paid, ordered, person, people, is_ident, user_from, login,
                     ident.slot[person])
    product = products(rng, n)
    quantity = 1 + (rng.random(n) < 0.2).astype(np.int64)
    coupon = np.where(counts[:, S_COUPON] > 0, np.maximum(people.coupon[person], 0), -1)
    order_row = np.where(counts[:, S_ORDER] > 0, np.cumsum(counts[:, S_ORDER]) - 1, -1)
    landing = _landing_pages(rng, variant, product)
    return Sessions(person, start, device, kind, rank, variant, campaign,
                    np.full(n, -1, dtype=np.int64), user_from, counts, product, quantity,
                    coupon, order_row, landing)


def _landing_pages(rng: np.random.Generator, variant: I64, product: I64) -> I64:
    kinds = np.asarray(["home", "category", "product", "sale", "blog", "new"])
    landing_kind = np.asarray([int(np.flatnonzero(kinds == v.landing)[0])
                               for v in cat.VARIANTS])[variant]
    pages = np.array([cat.HOME, cat.CATEGORY0, cat.PRODUCT0, cat.SALE_PAGE, cat.BLOG_PAGE,
                      cat.NEW_PAGE])[landing_kind]
    pages = np.where(landing_kind == 1, pages + rng.integers(0, len(cat.CATEGORIES),
                                                            len(variant)), pages)
    return np.asarray(np.where(landing_kind == 2, pages + product, pages), dtype=np.int64)


def _counts(rng: np.random.Generator, kind: I64, paid: Bool, ordered: Bool, person: I64,
            people: People, is_ident: Bool, user_from: I64, login: Bool,
            ident_slot: I64) -> np.ndarray:
    n = len(kind)
    c = np.zeros((n, N_SLOTS), dtype=np.int64)

    def coin(p: float | np.ndarray) -> np.ndarray:
        return (rng.random(n) < p).astype(np.int64)

    buying = (kind == DECISION) | (kind == REPEAT)
    kiosk = kind == KIOSK
    c[:, S_LAND] = 1
    c[:, S_ID1] = (login | (is_ident & (ident_slot == S_ID1))).astype(np.int64)
    c[:, S_PAGES] = np.where(kiosk, 0, rng.poisson(np.where(buying, 1.0, 1.3)))
    c[:, S_SEARCH] = coin(np.where(kiosk, 0.5, 0.3))
    viewed = np.where(buying | kiosk, 1, coin(0.75))
    c[:, S_PRODUCT] = viewed * (1 + rng.poisson(np.where(buying, 1.5, 1.2)))
    added = np.where(buying, 1, np.where(kiosk, 0, viewed * coin(0.22)))
    c[:, S_ADDED] = added
    c[:, S_CART] = added * coin(np.where(buying, 0.9, 0.8))
    has_coupon = (people.coupon[person] >= 0) & ((kind == DECISION) | (kind == BROWSE))
    c[:, S_COUPON] = c[:, S_CART] * has_coupon * np.where(kind == DECISION, 1, coin(0.5))
    checkout = np.where(buying, 1, added * coin(0.3))
    c[:, S_CHECKOUT] = checkout
    c[:, S_IDCO] = (is_ident & (ident_slot == S_IDCO)).astype(np.int64)
    c[:, S_SIGNCO] = c[:, S_IDCO]
    c[:, S_STEP1] = np.where(buying, 1, checkout * coin(0.5))
    c[:, S_STEP2] = buying.astype(np.int64)
    c[:, S_PAYINFO] = paid.astype(np.int64)
    c[:, S_STEP3] = paid.astype(np.int64) * np.where(ordered, 1, coin(0.5))
    c[:, S_ORDER] = ordered.astype(np.int64)
    c[:, S_IDNEWS] = (is_ident & (ident_slot == S_IDNEWS)).astype(np.int64)
    c[:, S_SIGNNEWS] = c[:, S_IDNEWS]
    return c


@dataclass
class Campaigns:
    """Every utm_campaign name of the demo, and the newsletter calendar."""

    names: list[str]
    index: dict[str, int]
    sends: I64  # newsletter send times
    first_newsletter: int
    first_coupon: int
    welcome: int
    subject: I64  # index into EMAIL_SUBJECTS per campaign


def make_campaigns(clock: Clock) -> Campaigns:
    """Fixed campaigns, coupon campaigns, a newsletter every Thursday 10:00 and a welcome mail."""
    names = sorted({v.utm_campaign for v in cat.VARIANTS if v.utm_campaign})
    first_coupon = len(names)
    names += list(cat.COUPON_CAMPAIGNS)
    first_newsletter = len(names)
    thursday = (3 - clock.weekday[0]) % 7
    days = np.arange(thursday, clock.days, 7)
    local = clock.start + days * US_PER_DAY + 10 * US_PER_H
    sends = clock.to_utc(local.astype(np.int64))
    names += [f"newsletter-{(EPOCH + timedelta(microseconds=int(t))).date().isoformat()}"
              for t in local]
    welcome = len(names)
    names.append("welcome-series")
    # the sale newsletter announces the coupon; the others rotate the three evergreen subjects
    subject = np.full(len(names), 3, dtype=np.int64)
    subject[first_newsletter:welcome] = np.where(clock.in_sale(sends), 1,
                                                 np.array([0, 2, 3])[np.arange(len(sends)) % 3])
    subject[welcome] = 2
    return Campaigns(names, {name: i for i, name in enumerate(names)}, sends, first_newsletter,
                     first_coupon, welcome, subject)


def expand(rng: np.random.Generator, s: Sessions, builder: fr.FrameBuilder,
           device_kind: I64) -> I64:
    """Append the visits' events; return each visit's order time (or -1)."""
    n = len(s)
    flat = s.counts.ravel()
    total = s.counts.sum(axis=1)
    session = np.repeat(np.arange(n), total)
    slot = np.repeat(np.tile(np.arange(N_SLOTS, dtype=np.int8), n), flat).astype(np.int64)
    group_start = np.cumsum(flat) - flat
    ordinal = np.arange(len(slot)) - np.repeat(group_start, flat)
    m = len(slot)
    gaps = np.where(QUICK_SLOTS[slot], rng.uniform(0.3, 2.0, m), 2 + rng.exponential(35.0, m))
    gaps_us = (gaps * US_PER_S).astype(np.int64)
    first = np.cumsum(total) - total
    gaps_us[first[total > 0]] = 0
    cs = np.cumsum(gaps_us)
    ts = s.start[session] + cs - np.repeat(cs[np.minimum(first, m - 1)], total)

    person = s.person[session]
    kind = SLOT_KIND[slot]
    a = np.zeros(m, dtype=np.int64)
    b = np.zeros(m, dtype=np.int64)
    is_landing = slot == S_LAND
    a[is_landing] = s.landing[session[is_landing]]
    pages = slot == S_PAGES
    w = np.asarray(BROWSE_PAGE_WEIGHTS)
    a[pages] = np.asarray(BROWSE_PAGES)[rng.choice(len(w), int(pages.sum()), p=w / w.sum())]
    search = slot == S_SEARCH
    a[search] = rng.integers(0, 10, int(search.sum()))
    viewed = slot == S_PRODUCT
    a[viewed] = np.where(ordinal[viewed] == 0, s.product[session[viewed]],
                         products(rng, int(viewed.sum())))
    about = np.isin(slot, [S_ADDED, S_CART, S_CHECKOUT])
    a[about] = s.product[session[about]]
    b[about] = s.quantity[session[about]]
    coupon = slot == S_COUPON
    a[coupon] = s.coupon[session[coupon]]
    a[slot == S_ID1] = np.where(s.rank[session[slot == S_ID1]] == 0, ID_EMAIL_LINK, ID_LOGIN)
    a[slot == S_IDCO] = ID_SIGNUP
    a[slot == S_IDNEWS] = ID_NEWSLETTER
    a[slot == S_SIGNNEWS] = 1
    for step, which in ((1, S_STEP1), (2, S_STEP2), (3, S_STEP3)):
        a[slot == which] = step
    pay = (slot == S_PAYINFO) | (slot == S_STEP3)
    b[pay] = rng.choice(len(cat.PAYMENT_METHODS_WEB), int(pay.sum()),
                        p=[0.55, 0.1, 0.2, 0.1, 0.05])
    b[slot == S_STEP1] = (rng.random(int((slot == S_STEP1).sum())) < 0.25).astype(np.int64)
    orders = slot == S_ORDER
    a[orders] = s.order[session[orders]]
    user = slot >= s.user_from[session]
    builder.add(kind, ts, person, device=s.device[session], session=session, user=user, a=a,
                b=b)
    order_time = np.full(n, -1, dtype=np.int64)
    order_time[session[orders]] = ts[orders]
    return order_time
