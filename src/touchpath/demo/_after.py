"""What happens around and after a purchase: e-mail, help-desk tickets, surveys, reviews,
referrals and refunds.

Planted here: people who opened a ticket answer the NPS survey as detractors far more often
(behaviour 3); referred customers' friends carry the referrer's code (behaviour 4b's source).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from touchpath.demo import _catalogue as cat
from touchpath.demo import _frame as fr
from touchpath.demo import _texts as tx
from touchpath.demo._arrow import I64, US_PER_DAY, US_PER_H, US_PER_S, Bool
from touchpath.demo._people import NEVER, People
from touchpath.demo._sessions import (
    BUG,
    S_PAYINFO,
    S_STEP2,
    Campaigns,
    Sessions,
    products,
)
from touchpath.demo._store import PRICES, Receipts
from touchpath.demo._time import Clock

NPS, CSAT, CES = range(3)
SURVEYS = ("nps", "csat", "ces")
SURVEY_IDS = ("nps-post-purchase", "csat-support", "ces-support", "csat-delivery")
TOUCHPOINTS = ("post_purchase", "store_purchase", "support_ticket", "delivery")
STAGES = ("Loyalty", "Loyalty", "Retention", "Purchase")
# score distributions (planted behaviour 3: after a ticket, detractors dominate)
NPS_CALM = (0.01, 0.01, 0.01, 0.02, 0.02, 0.03, 0.04, 0.12, 0.18, 0.26, 0.30)
NPS_AFTER_TICKET = (0.08, 0.07, 0.09, 0.10, 0.10, 0.10, 0.08, 0.14, 0.11, 0.07, 0.06)
CSAT_TICKET = (0.22, 0.22, 0.24, 0.20, 0.12)
CSAT_DELIVERY = (0.02, 0.04, 0.10, 0.34, 0.50)
CES_TICKET = (0.14, 0.16, 0.18, 0.16, 0.14, 0.12, 0.10)
RATING_CALM = (0.02, 0.03, 0.10, 0.30, 0.55)
RATING_TICKET = (0.30, 0.25, 0.20, 0.15, 0.10)
TOPIC_THEME = (tx.DELIVERY, tx.DAMAGED, tx.SUPPORT, tx.SUPPORT, tx.SUPPORT, tx.PAYMENT)
# where each (theme, language) bank starts in the flat comment list
COMMENT_FLAT = [c for theme in tx.COMMENTS for lang in theme for c in lang]
_offsets: list[list[int]] = []
_at = 0
for _theme in tx.COMMENTS:
    _offsets.append([])
    for _lang in _theme:
        _offsets[-1].append(_at)
        _at += len(_lang)
COMMENT_START = np.asarray(_offsets, dtype=np.int64)
COMMENT_COUNT = np.asarray([[len(lang) for lang in theme] for theme in tx.COMMENTS])
REFUND_RESOLUTION = np.asarray([[k < len(cat.TICKET_RESOLUTIONS[t])
                                 and cat.TICKET_RESOLUTIONS[t][k] == "refund_issued"
                                 for k in range(3)] for t in cat.TICKET_TOPICS])


@dataclass
class Orders:
    person: I64
    session: I64
    ts: I64  # -1 when the order fell after the window
    product: I64  # (orders, 3): the visit's product, then up to two more, -1
    quantity: I64  # (orders, 3)
    coupon: I64
    payment: I64
    subtotal: I64
    discount: I64
    shipping: I64

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Tickets:
    person: I64
    opened: I64
    closed: I64  # NEVER while still open at the end of the window
    topic: I64
    via: I64
    resolution: I64  # index into TICKET_RESOLUTIONS[topic]
    order: I64  # -1
    receipt: I64  # -1

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Surveys:
    person: I64
    ts: I64
    survey: I64
    survey_id: I64
    score: I64
    comment: I64  # index into COMMENT_FLAT, -1
    touchpoint: I64
    ticket: I64
    order: I64
    by_email: Bool  # answered from an e-mail invitation by someone with no user id

    def __len__(self) -> int:
        return len(self.person)


def _choice(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> I64:
    w = np.asarray(p)
    return rng.choice(len(w), n, p=w / w.sum()).astype(np.int64)


def _days(rng: np.random.Generator, lo: float, hi: float, n: int) -> I64:
    return (rng.uniform(lo, hi, n) * US_PER_DAY).astype(np.int64)


def make_orders(rng: np.random.Generator, s: Sessions, order_time: I64, clock: Clock) -> Orders:
    rows = np.flatnonzero(s.order >= 0)
    n = len(rows)
    product = np.full((n, 3), -1, dtype=np.int64)
    product[:, 0] = s.product[rows]
    extra = rng.random((n, 2)) < 0.35
    product[:, 1:] = np.where(extra, products(rng, 2 * n).reshape(n, 2), -1)
    quantity = np.where(product >= 0, 1, 0)
    quantity[:, 0] = s.quantity[rows]
    subtotal = (np.where(product >= 0, PRICES[np.maximum(product, 0)], 0) * quantity).sum(1)
    coupon = s.coupon[rows]
    percent = np.where(coupon >= 0, np.asarray(cat.COUPON_PERCENT)[np.maximum(coupon, 0)], 0)
    discount = subtotal * percent // 100
    shipping = np.where(subtotal - discount >= 30_000, 0, 3_990)
    ts = order_time[rows]
    ts = np.where(ts < clock.end, ts, -1)
    payment = rng.choice(len(cat.PAYMENT_METHODS_WEB), n, p=[0.55, 0.1, 0.2, 0.1, 0.05])
    return Orders(s.person[rows], rows, ts, product, quantity, coupon, payment, subtotal,
                  discount, shipping)


def plan_tickets(rng: np.random.Generator, s: Sessions, orders: Orders, receipts: Receipts,
                 ident_time: I64, device_kind: I64, clock: Clock) -> Tickets:
    parts: list[tuple[I64, I64, I64, I64, I64]] = []  # person, opened, topic, order, receipt
    valid = np.flatnonzero(orders.ts >= 0)
    o = valid[rng.random(len(valid)) < 0.07]
    parts.append((orders.person[o], orders.ts[o] + _days(rng, 2, 12, len(o)),
                  _choice(rng, len(o), (0.35, 0.2, 0.2, 0.1, 0.15, 0.0)), o,
                  np.full(len(o), -1)))
    r = np.flatnonzero(receipts.email_shown & (rng.random(len(receipts)) < 0.03))
    parts.append((receipts.person[r], receipts.ts[r] + _days(rng, 1, 10, len(r)),
                  _choice(rng, len(r), (0.0, 0.35, 0.35, 0.0, 0.3, 0.0)), np.full(len(r), -1),
                  r))
    # the payment-step bug sends some of its victims to the help desk
    failed = np.flatnonzero((s.counts[:, S_STEP2] > 0) & (s.counts[:, S_PAYINFO] == 0)
                            & BUG[device_kind[s.device]])
    f = failed[rng.random(len(failed)) < 0.25]
    parts.append((s.person[f], s.start[f] + (rng.uniform(0.3, 6, len(f)) * US_PER_H
                                             ).astype(np.int64),
                  np.full(len(f), 5), np.full(len(f), -1), np.full(len(f), -1)))
    known = np.flatnonzero(ident_time < NEVER)
    q = known[rng.random(len(known)) < 0.02]
    parts.append((q, ident_time[q] + _days(rng, 0, 20, len(q)), np.full(len(q), 4),
                  np.full(len(q), -1), np.full(len(q), -1)))
    person, opened, topic, order, receipt = (np.concatenate([p[i] for p in parts])
                                             for i in range(5))
    keep = opened < clock.end
    person, opened, topic, order, receipt = (x[keep] for x in (person, opened, topic, order,
                                                               receipt))
    n = len(person)
    closed = opened + (np.exp(rng.normal(np.log(20), 1.0, n)) * US_PER_H).astype(np.int64)
    closed = np.where(closed < clock.end, closed, NEVER)
    options = np.asarray([len(cat.TICKET_RESOLUTIONS[t]) for t in cat.TICKET_TOPICS])
    resolution = (rng.random(n) * options[topic]).astype(np.int64)
    via = _choice(rng, n, (0.35, 0.3, 0.2, 0.15))
    order_by_time = np.argsort(opened, kind="stable")
    return Tickets(*(x[order_by_time] for x in (person, opened, closed, topic, via, resolution,
                                                 order, receipt)))


def _comment(rng: np.random.Generator, theme: I64, lang: I64) -> I64:
    k = (rng.random(len(theme)) * COMMENT_COUNT[theme, lang]).astype(np.int64)
    return np.asarray(COMMENT_START[theme, lang] + k, dtype=np.int64)


def plan_surveys(rng: np.random.Generator, people: People, orders: Orders, receipts: Receipts,
                 tickets: Tickets, ident_time: I64, clock: Clock) -> Surveys:
    n = len(people)
    lang = people.locale
    first_ticket_close = np.full(n, NEVER, dtype=np.int64)
    settled = np.where(tickets.closed < NEVER, tickets.closed, tickets.opened + 2 * US_PER_DAY)
    np.minimum.at(first_ticket_close, tickets.person, settled)
    first_topic = np.full(n, -1, dtype=np.int64)
    first_topic[tickets.person[::-1]] = tickets.topic[::-1]

    # NPS after a person's first purchase, online or at a till where they left an e-mail
    purchase = np.full(n, NEVER, dtype=np.int64)
    touch = np.full(n, -1, dtype=np.int64)
    order_row = np.full(n, -1, dtype=np.int64)
    valid = np.flatnonzero(orders.ts >= 0)
    np.minimum.at(purchase, orders.person[valid], orders.ts[valid])
    first_order = np.full(n, -1, dtype=np.int64)
    first_order[orders.person[valid][::-1]] = valid[::-1]
    touch[purchase < NEVER] = 0
    order_row[:] = first_order
    with_email = np.flatnonzero(receipts.email_shown)
    store_first = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(store_first, receipts.person[with_email], receipts.ts[with_email])
    store_wins = store_first < purchase
    purchase = np.minimum(purchase, store_first)
    touch[store_wins] = 1
    order_row[store_wins] = -1
    who = np.flatnonzero((purchase < NEVER) & (rng.random(n) < 0.22))
    ts = purchase[who] + _days(rng, 5, 15, len(who))
    ticketed = first_ticket_close[who] < NEVER
    ts = np.where(ticketed, np.maximum(ts, first_ticket_close[who] + _days(rng, 1, 3, len(who))),
                  ts)
    score = np.where(ticketed, _choice(rng, len(who), NPS_AFTER_TICKET),
                     _choice(rng, len(who), NPS_CALM))
    sentiment = np.where(score >= 9, tx.POSITIVE, np.where(score >= 7, tx.NEUTRAL, tx.NEGATIVE))
    theme = np.where((sentiment == tx.NEGATIVE) & ticketed,
                     np.asarray(TOPIC_THEME)[np.maximum(first_topic[who], 0)], sentiment)
    nps = (who, ts, np.full(len(who), NPS), np.full(len(who), 0), score, theme,
           touch[who], np.full(len(who), -1), order_row[who])

    # CSAT and CES after a closed ticket
    closed = np.flatnonzero(tickets.closed < NEVER)
    c = closed[rng.random(len(closed)) < 0.45]
    c_score = 1 + _choice(rng, len(c), CSAT_TICKET)
    c_theme = np.where(c_score >= 4, tx.POSITIVE, np.where(
        c_score == 3, tx.NEUTRAL, np.asarray(TOPIC_THEME)[tickets.topic[c]]))
    csat = (tickets.person[c], tickets.closed[c] + (rng.uniform(1, 48, len(c)) * US_PER_H
                                                     ).astype(np.int64),
            np.full(len(c), CSAT), np.full(len(c), 1), c_score, c_theme, np.full(len(c), 2), c,
            tickets.order[c])
    e = closed[rng.random(len(closed)) < 0.15]
    e_score = 1 + _choice(rng, len(e), CES_TICKET)
    e_theme = np.where(e_score >= 6, tx.POSITIVE, np.where(e_score >= 4, tx.NEUTRAL, tx.SUPPORT))
    ces = (tickets.person[e], tickets.closed[e] + (rng.uniform(1, 48, len(e)) * US_PER_H
                                                    ).astype(np.int64),
           np.full(len(e), CES), np.full(len(e), 2), e_score, e_theme, np.full(len(e), 2), e,
           tickets.order[e])
    # CSAT on delivery, for online orders that needed no help
    has_ticket = np.zeros(n, dtype=bool)
    has_ticket[tickets.person] = True
    d = valid[~has_ticket[orders.person[valid]] & (rng.random(len(valid)) < 0.08)]
    d_score = 1 + _choice(rng, len(d), CSAT_DELIVERY)
    d_theme = np.where(d_score >= 4, tx.POSITIVE, np.where(d_score == 3, tx.NEUTRAL,
                                                            tx.DELIVERY))
    delivery = (orders.person[d], orders.ts[d] + _days(rng, 3, 8, len(d)),
                np.full(len(d), CSAT), np.full(len(d), 3), d_score, d_theme,
                np.full(len(d), 3), np.full(len(d), -1), d)

    parts = (nps, csat, ces, delivery)
    cols = [np.concatenate([np.asarray(p[i], dtype=np.int64) for p in parts]) for i in range(9)]
    person, ts, survey, survey_id, score, theme, touchpoint, ticket, order = cols
    keep = ts < clock.end
    person, ts, survey, survey_id, score, theme, touchpoint, ticket, order = (
        x[keep] for x in cols)
    comment = np.where(rng.random(len(person)) < 0.6, _comment(rng, theme, lang[person]), -1)
    by_email = ident_time[person] > ts
    return Surveys(person, ts, survey, survey_id, score, comment, touchpoint, ticket, order,
                   by_email)


def add_email(rng: np.random.Generator, s: Sessions, people: People, ident_time: I64,
              campaigns: Campaigns, clock: Clock, b: fr.FrameBuilder) -> None:
    """Newsletter deliveries and opens, and the delivered-opened-clicked chain before every
    visit that came from an e-mail."""
    visit = np.flatnonzero(s.variant == cat.EMAIL_VARIANT)
    camp = s.campaign[visit]
    start = s.start[visit]
    news = camp < campaigns.welcome
    sent = np.where(news, campaigns.sends[np.clip(camp - campaigns.first_newsletter, 0,
                                                  len(campaigns.sends) - 1)],
                    start - 2 * US_PER_H)
    opened = np.maximum(start - (rng.uniform(1, 20, len(visit)) * 60 * US_PER_S
                                 ).astype(np.int64), sent + 30 * US_PER_S)
    clicked = start - (rng.uniform(1, 4, len(visit)) * US_PER_S).astype(np.int64)
    who = s.person[visit]
    subject = campaigns.subject[camp]
    for kind, ts in ((fr.EMAIL_DELIVERED, sent), (fr.EMAIL_OPENED, opened),
                     (fr.EMAIL_CLICKED, clicked)):
        b.add(kind, ts, who, user=True, a=camp, b=subject)

    subscribers = np.flatnonzero(people.online & (ident_time < NEVER))
    sends = campaigns.sends
    got = (sends[None, :] > ident_time[subscribers, None]) & (
        rng.random((len(subscribers), len(sends))) < 0.25)
    sub, k = np.nonzero(got)
    person = subscribers[sub]
    delivered = sends[k] + (rng.uniform(0, 600, len(k)) * US_PER_S).astype(np.int64)
    camp_k = campaigns.first_newsletter + k
    b.add(fr.EMAIL_DELIVERED, delivered, person, user=True, a=camp_k, b=campaigns.subject[camp_k])
    o = rng.random(len(k)) < 0.35
    b.add(fr.EMAIL_OPENED, delivered[o] + (rng.exponential(6, int(o.sum())) * US_PER_H
                                           ).astype(np.int64),
          person[o], user=True, a=camp_k[o], b=campaigns.subject[camp_k[o]])


def add_after(rng: np.random.Generator, s: Sessions, people: People, orders: Orders,
              tickets: Tickets, surveys: Surveys, clock: Clock, b: fr.FrameBuilder) -> None:
    """Surveys, reviews, referrals and refunds as events."""
    b.add(fr.SURVEY, surveys.ts, surveys.person, user=~surveys.by_email,
          a=np.arange(len(surveys)))
    valid = np.flatnonzero(orders.ts >= 0)
    has_ticket = np.zeros(len(people), dtype=bool)
    has_ticket[tickets.person] = True
    r = valid[rng.random(len(valid)) < 0.12]
    rating = 1 + np.where(has_ticket[orders.person[r]], _choice(rng, len(r), RATING_TICKET),
                          _choice(rng, len(r), RATING_CALM))
    b.add(fr.REVIEW, orders.ts[r] + _days(rng, 7, 20, len(r)), orders.person[r], user=True,
          a=r, b=rating)

    # refunds: resolved damaged-item and return tickets, and a few quiet ones
    t = np.flatnonzero(REFUND_RESOLUTION[tickets.topic, tickets.resolution]
                       & (tickets.order >= 0) & (tickets.closed < NEVER))
    b.add(fr.REFUND, tickets.closed[t], tickets.person[t], user=True, a=tickets.order[t])
    quiet = valid[rng.random(len(valid)) < 0.02]
    b.add(fr.REFUND, orders.ts[quiet] + _days(rng, 5, 25, len(quiet)), orders.person[quiet],
          user=True, a=quiet)

    # referrals: a friend's link names an earlier customer; promoters share without result
    first_order = np.full(len(people), NEVER, dtype=np.int64)
    np.minimum.at(first_order, orders.person[valid], orders.ts[valid])
    customers = np.flatnonzero(first_order < NEVER)
    by_time = customers[np.argsort(first_order[customers], kind="stable")]
    times = first_order[by_time]
    friend = np.flatnonzero((s.rank == 0) & (s.variant == cat.FRIEND_VARIANT))
    before = np.searchsorted(times, s.start[friend] - US_PER_H)
    lucky = before > 0
    blog = next(i for i, v in enumerate(cat.VARIANTS)
                if v.channel == cat.REFERRAL and v.referrer and "blog" in v.referrer)
    s.variant[friend[~lucky]] = blog
    friend, before = friend[lucky], before[lucky]
    referrer = by_time[(rng.random(len(friend)) * before).astype(np.int64)]
    s.referrer[friend] = referrer
    sent = first_order[referrer] + (rng.uniform(0.1, 0.9, len(friend))
                                    * (s.start[friend] - first_order[referrer])).astype(np.int64)
    b.add(fr.REFERRAL, sent, referrer, user=True, a=_choice(rng, len(friend), (0.6, 0.25, 0.15)))
    promoters = customers[rng.random(len(customers)) < 0.08]
    b.add(fr.REFERRAL, first_order[promoters] + _days(rng, 2, 30, len(promoters)), promoters,
          user=True, a=_choice(rng, len(promoters), (0.6, 0.25, 0.15)))

