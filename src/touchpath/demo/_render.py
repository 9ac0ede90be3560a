"""Event rows -> an ``INCOMING`` Arrow table, written the way the collector would have parsed
the Segment messages (``spec.messages.parse_message``).

The frame is rendered in time-ordered slices of a million rows. Within a slice the rows are
grouped by kind, each kind's JSON text is joined column-wise, and one ``take`` puts the rows
back in time order; the slices concatenate without copying.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from touchpath.demo import _catalogue as cat
from touchpath.demo import _frame as fr
from touchpath.demo import _texts as tx
from touchpath.demo._after import (
    COMMENT_FLAT,
    STAGES,
    SURVEY_IDS,
    SURVEYS,
    TOUCHPOINTS,
    Orders,
    Surveys,
)
from touchpath.demo._arrow import (
    I64,
    US_PER_S,
    Bool,
    hex_ids,
    ints,
    join,
    money,
    pick,
    quoted,
    text,
    timestamps,
    when,
)
from touchpath.demo._people import Devices, People, emails, native_names, phones_e164
from touchpath.demo._sessions import Campaigns, Sessions
from touchpath.identity.keys import email_hash, phone_hash
from touchpath.spec.columns import INCOMING

SLICE = 1_000_000
JUNK_IDS = ("null", "0", "anonymous", "undefined")
EVENT_NAMES = {
    fr.SEARCH: "Products Searched", fr.PRODUCT_VIEWED: "Product Viewed",
    fr.PRODUCT_ADDED: "Product Added", fr.CART_VIEWED: "Cart Viewed",
    fr.COUPON_APPLIED: "Coupon Applied", fr.CHECKOUT_STARTED: "Checkout Started",
    fr.SIGNED_UP: "Signed Up", fr.CHECKOUT_STEP: "Checkout Step Completed",
    fr.PAYMENT_INFO: "Payment Info Entered", fr.ORDER_COMPLETED: "Order Completed",
    fr.EMAIL_DELIVERED: "Email Delivered", fr.EMAIL_OPENED: "Email Opened",
    fr.EMAIL_CLICKED: "Email Link Clicked", fr.SURVEY: "Survey Answered",
    fr.REVIEW: "Review Submitted", fr.REFERRAL: "Referral Sent", fr.REFUND: "Order Refunded",
}
PAGE_KINDS = (fr.LANDING, fr.PAGE)
EMAIL_KINDS = (fr.EMAIL_DELIVERED, fr.EMAIL_OPENED, fr.EMAIL_CLICKED)
SERVER_SOURCE = {k: "email" for k in EMAIL_KINDS}
STEP_NAMES = ('"shipping"', '"delivery"', '"payment"')
SHIPPING = ('"home_delivery"', '"store_pickup"')
SHARE_VIA = ("whatsapp", "email", "link")
IS_APP = np.asarray([d.app for d in cat.DEVICES])
# names of the event column: a track name, or $page/$screen/$identify (spec.columns)
_EVENT_COLUMN = [EVENT_NAMES.get(k, "$page") for k in range(fr.KIND_COUNT)]
_EVENT_COLUMN[fr.IDENTIFY] = "$identify"
_TYPE_COLUMN = ["track"] * fr.KIND_COUNT
_TYPE_COLUMN[fr.LANDING] = _TYPE_COLUMN[fr.PAGE] = "page"
_TYPE_COLUMN[fr.IDENTIFY] = "identify"


def _product_json() -> list[str]:
    cats = dict(enumerate(label for _, label in cat.CATEGORIES))
    out = []
    for p in cat.PRODUCTS:
        price = f"{p.price // 100}.{p.price % 100:02d}"
        out.append(f'"product_id":"{p.product_id}","sku":"{p.sku}","name":{quoted([p.name])[0]},'
                   f'"category":"{cats[p.category]}","price":{price}')
    return out


PRODUCT_JSON = _product_json()
PRODUCT_ID = [p.product_id for p in cat.PRODUCTS]
PAGE_NAME = [p.name for p in cat.PAGES]
PAGE_PATH = quoted([p.path for p in cat.PAGES])
PAGE_TITLE = quoted([p.title for p in cat.PAGES])
PAGE_URL = [cat.SITE + p.path for p in cat.PAGES]
V_SOURCE = [v.utm_source for v in cat.VARIANTS]
V_MEDIUM = [v.utm_medium for v in cat.VARIANTS]
V_REFERRER = [v.referrer for v in cat.VARIANTS]
V_CLICK = np.asarray([("gclid", "fbclid", "ref").index(v.click_id) if v.click_id else -1
                      for v in cat.VARIANTS])
SEARCH_JSON = quoted([q for lang in tx.SEARCHES for q in lang])
SUBJECT_JSON = quoted([s for lang in tx.EMAIL_SUBJECTS for s in lang])
COMMENT_JSON = quoted(COMMENT_FLAT)


@dataclass
class World:
    """Everything rendering looks up, by row number."""

    seed: int
    people: People
    devices: Devices
    sessions: Sessions
    orders: Orders
    surveys: Surveys
    campaigns: Campaigns


class Hashes:
    """SHA-256 match keys of some people, looked up by person number."""

    def __init__(self, people: int, who: I64, values: list[str | None]) -> None:
        self.row = np.full(people, -1, dtype=np.int64)
        self.row[who] = np.arange(len(who))
        self.values = pa.array(values, pa.string())


class Renderer:
    def __init__(self, world: World, frame: fr.Frame, rng: np.random.Generator) -> None:
        self.w = world
        self.f = frame
        n = len(frame)
        people = world.people
        self.user_ids = join("cust-", ints(np.arange(1, len(people) + 1), 7))
        self.session_hex = hex_ids(rng, len(world.sessions), 16)
        self.survey_token = hex_ids(rng, len(world.surveys), 12)
        self.ctx_prefix = [
            f'{{"locale":"{loc}","timezone":"Asia/Jerusalem",{d.context}'
            for d in cat.DEVICES for loc in cat.LOCALES
        ]
        self.ctx_closed = [prefix + "}" for prefix in self.ctx_prefix]
        # arrival: web beacons within a second or two, apps in batches, some app clocks wrong
        device = frame.device
        dk = np.where(device >= 0, world.devices.kind[np.maximum(device, 0)], -1)
        app = (dk >= 0) & IS_APP[np.maximum(dk, 0)]
        delay = np.where(app, rng.exponential(20.0, n) + 0.2, rng.uniform(0.05, 1.5, n))
        self.received = frame.ts + (delay * US_PER_S).astype(np.int64)
        skewed_device = rng.random(len(world.devices.kind)) < 0.03
        skew_size = (rng.normal(0, 3600, len(world.devices.kind)) * US_PER_S).astype(np.int64)
        self.skew = np.where(app & skewed_device[np.maximum(device, 0)],
                             skew_size[np.maximum(device, 0)], 0)
        self.client = device >= 0
        self.device_kind = dk
        # over-merge trap: a few events carry a placeholder user id
        k = max(3, n // 2000)
        candidates = np.flatnonzero(self.client & (frame.kind != fr.IDENTIFY))
        self.junk = np.full(n, -1, dtype=np.int64)
        if len(candidates):
            rows = rng.choice(candidates, size=min(k, len(candidates)), replace=False)
            self.junk[rows] = rng.integers(0, len(JUNK_IDS), len(rows))
        self.email_hashes, self.phone_hashes = self._hashes()

    def _hashes(self) -> tuple[Hashes, Hashes]:
        f, w = self.f, self.w
        survey_email = np.zeros(len(f), dtype=bool)
        s_rows = f.kind == fr.SURVEY
        survey_email[s_rows] = w.surveys.by_email[f.a[s_rows]]
        need = np.unique(f.person[np.isin(f.kind, (fr.IDENTIFY, *EMAIL_KINDS)) | survey_email])
        e = [email_hash(a) for a in emails(w.people, need).to_pylist()]
        ident = np.unique(f.person[f.kind == fr.IDENTIFY])
        ident = ident[w.people.phone_in_traits[ident]]
        p = [phone_hash(ph, "972") for ph in phones_e164(w.people, ident).to_pylist()]
        return Hashes(len(w.people), need, e), Hashes(len(w.people), ident, p)

    def table(self) -> pa.Table:
        """Render every slice; two at a time (Arrow kernels release the GIL)."""
        n = len(self.f)
        bounds = [(lo, min(n, lo + SLICE)) for lo in range(0, n, SLICE)]
        if not bounds:
            return INCOMING.empty_table()
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            tables = list(pool.map(lambda b: self._slice(*b), bounds))
        return pa.concat_tables(tables)

    # ------------------------------------------------------------------ one slice
    def _slice(self, lo: int, hi: int) -> pa.Table:
        f = self.f.window(lo, hi)
        w = self.w
        m = len(f)
        rows = np.arange(lo, hi)
        kind = f.kind
        app = IS_APP[np.maximum(self.device_kind[rows], 0)] & self.client[rows]
        is_page = np.isin(kind, PAGE_KINDS)
        event = text(_EVENT_COLUMN, kind)
        event = pc.if_else(pa.array(is_page & app), "$screen", event)
        typ = pc.if_else(pa.array(is_page & app), "screen", text(_TYPE_COLUMN, kind))
        skew = self.skew[rows]
        received = self.received[rows]
        cols: dict[str, pa.Array] = {
            "message_id": join(f"demo-{w.seed}-", ints(rows + 1)),
            "type": typ,
            "event": event,
            "name": text(PAGE_NAME, np.where(is_page, f.a, -1)),
            "anonymous_id": pick(w.devices.anon, f.device),
            "user_id": self._user_ids(f, rows),
            "timestamp": timestamps(f.ts),
            "original_timestamp": timestamps(f.ts + skew),
            "sent_at": pc.if_else(pa.array(self.client[rows]), timestamps(received + skew),
                                  pa.scalar(None, pa.timestamp("us"))),
            "received_at": timestamps(received),
            "source": self._sources(f, rows),
            "session_id": pick(self.session_hex, f.session),
        }
        by_kind = self._by_kind(f, rows, app)
        cols["anonymous_id"] = pc.coalesce(cols["anonymous_id"], by_kind.pop("anonymous_id"))
        cols.update(by_kind)
        arrays = [cols.get(field.name, pa.nulls(m, field.type)).cast(field.type)
                  for field in INCOMING]
        return pa.Table.from_arrays(arrays, schema=INCOMING)

    def _user_ids(self, f: fr.Frame, rows: I64) -> pa.Array:
        user = pick(self.user_ids, np.where(f.user, f.person, -1))
        junk = self.junk[rows]
        return pc.if_else(pa.array(junk >= 0), text(JUNK_IDS, junk), user)

    def _sources(self, f: fr.Frame, rows: I64) -> pa.Array:
        names = [d.source for d in cat.DEVICES] + ["email", "web"]
        k = np.where(self.client[rows], self.device_kind[rows],
                     np.where(np.isin(f.kind, EMAIL_KINDS), len(cat.DEVICES),
                              len(cat.DEVICES) + 1))
        return text(names, k)

    def _by_kind(self, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
        """Columns whose text depends on the kind: rendered per kind, put back in order."""
        order = np.argsort(f.kind, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        kinds, starts = np.unique(f.kind[order], return_index=True)
        bounds = [*starts.tolist(), len(order)]
        pieces: dict[str, list[pa.Array]] = {}
        names = ("anonymous_id", "properties", "traits", "context", "utm_source", "utm_medium",
                 "utm_campaign", "referrer", "page_url", "revenue", "currency", "email_hash",
                 "phone_hash")
        for i, k in enumerate(kinds.tolist()):
            idx = order[bounds[i]:bounds[i + 1]]
            sub = f.take(idx)
            made = RENDERERS[k](self, sub, rows[idx], app[idx])
            for name in names:
                col = made.get(name)
                if col is None:
                    typ = INCOMING.field(name).type
                    col = pa.nulls(len(idx), typ)
                pieces.setdefault(name, []).append(col)
        out: dict[str, pa.Array] = {}
        take = pa.array(inverse)
        for name, parts in pieces.items():
            typ = INCOMING.field(name).type
            out[name] = pa.concat_arrays([p.cast(typ) for p in parts]).take(take)
        return out

    # ------------------------------------------------------------------ shared pieces
    def _locale(self, f: fr.Frame) -> I64:
        return self.w.people.locale[f.person]

    def _ctx(self, f: fr.Frame, rows: I64, *extra: pa.Array | str) -> pa.Array:
        idx = self.device_kind[rows] * len(cat.LOCALES) + self._locale(f)
        if not extra:  # one of 30 fixed documents: a dictionary look-up, no joining
            return text(self.ctx_closed, idx)
        return join(text(self.ctx_prefix, idx), *extra, "}")

    def _cart(self, f: fr.Frame, prefix: str = "c-") -> pa.Array:
        return join(prefix, pick(self.session_hex, f.session))


Render = Callable[[Renderer, fr.Frame, I64, Bool], dict[str, pa.Array]]


def _page(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    s = r.w.sessions
    landing = f.kind == fr.LANDING
    variant = np.where(landing, s.variant[np.maximum(f.session, 0)], -1)
    camp = np.where(landing, s.campaign[np.maximum(f.session, 0)], -1)
    src, med = text(V_SOURCE, variant), text(V_MEDIUM, variant)
    name = text(r.w.campaigns.names, camp)
    ref = text(V_REFERRER, np.where(app, -1, variant))
    click = np.where(variant >= 0, V_CLICK[np.maximum(variant, 0)], -1)
    hexes = pick(r.session_hex, f.session)
    referrer_person = s.referrer[np.maximum(f.session, 0)]
    query = join(
        when(pc.is_valid(src).to_numpy(zero_copy_only=False),
             join("?utm_source=", pc.fill_null(src, ""), "&utm_medium=", pc.fill_null(med, ""),
                  "&utm_campaign=", pc.fill_null(name, ""))),
        when(click == 0, join("&gclid=", hexes)),
        when(click == 1, join("&fbclid=", hexes)),
        when(click == 2, join("&ref=OAK", ints(referrer_person + 1, 7))),
    )
    url = join(text(PAGE_URL, f.a), query)
    web = ~app
    campaign = when(pc.is_valid(src).to_numpy(zero_copy_only=False),
                    join(',"campaign":{"source":"', pc.fill_null(src, ""), '","medium":"',
                         pc.fill_null(med, ""), '","name":"', pc.fill_null(name, ""), '"}'))
    ref_json = when(pc.is_valid(ref).to_numpy(zero_copy_only=False),
                    join('"', pc.fill_null(ref, ""), '"'), '""')
    # analytics.js sends the page object twice (properties and context.page); the properties
    # copy is enough for every column the collector derives from it
    props = join('{"path":', text(PAGE_PATH, f.a), ',"referrer":', ref_json, ',"title":',
                 text(PAGE_TITLE, f.a), ',"url":"', url, '"}')
    screen_props = join('{"name":"', text(PAGE_NAME, f.a), '"}')
    return {
        "properties": pc.if_else(pa.array(web), props, screen_props),
        "context": r._ctx(f, rows, campaign),
        "utm_source": src, "utm_medium": med, "utm_campaign": name,
        "referrer": ref,
        "page_url": pc.if_else(pa.array(web), url, pa.scalar(None, pa.string())),
    }


def _search(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    q = text(SEARCH_JSON, r._locale(f) * 10 + f.a)
    return {"properties": join('{"query":', q, "}"), "context": r._ctx(f, rows)}


def _product(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    base = join("{", text(PRODUCT_JSON, f.a), ',"currency":"ILS"')
    if f.kind[0] == fr.PRODUCT_VIEWED:
        props = join(base, "}")
    else:
        props = join(base, ',"quantity":', ints(f.b), ',"cart_id":"', r._cart(f), '"}')
    return {"properties": props, "context": r._ctx(f, rows), "currency": _ils(len(f))}


def _ils(n: int) -> pa.Array:
    return text([cat.CURRENCY], np.zeros(n, dtype=np.int64))


def _cart_like(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    items = join('"products":[{"product_id":"', text(PRODUCT_ID, f.a), '","quantity":',
                 ints(f.b), "}]")
    if f.kind[0] == fr.CART_VIEWED:
        props = join('{"cart_id":"', r._cart(f), '",', items, "}")
        return {"properties": props, "context": r._ctx(f, rows)}
    props = join('{"cart_id":"', r._cart(f), '","checkout_id":"', r._cart(f, "co-"), '",',
                 items, ',"currency":"ILS"}')
    return {"properties": props, "context": r._ctx(f, rows), "currency": _ils(len(f))}


def _coupon(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    props = join('{"cart_id":"', r._cart(f), '","coupon_id":"', text(cat.COUPONS, f.a),
                 '","coupon_name":"', text(cat.COUPON_CAMPAIGNS, f.a), '","discount_percent":',
                 ints(np.asarray(cat.COUPON_PERCENT)[f.a]), "}")
    return {"properties": props, "context": r._ctx(f, rows)}


def _identify(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    people = r.w.people
    email = emails(people, f.person)
    first, last = native_names(people, f.person)
    with_phone = people.phone_in_traits[f.person]
    traits = join('{"email":"', email, '","first_name":"', first, '","last_name":"', last,
                  '","locale":"', text(cat.LOCALES, people.locale[f.person]), '"',
                  when(with_phone, join(',"phone":"', phones_e164(people, f.person), '"')), "}")
    return {
        "traits": traits,
        "context": r._ctx(f, rows),
        "email_hash": _lookup(r.email_hashes, f.person),
        "phone_hash": _lookup(r.phone_hashes, np.where(with_phone, f.person, -1)),
    }


def _lookup(hashes: Hashes, person: I64) -> pa.Array:
    return pick(hashes.values, np.where(person >= 0, hashes.row[np.maximum(person, 0)], -1))


def _signed_up(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    method = text(['"checkout"', '"newsletter_popup"'], f.a)
    return {"properties": join('{"method":', method, ',"newsletter_opt_in":true}'),
            "context": r._ctx(f, rows)}


def _step(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    step = np.clip(f.a, 1, 3)
    extra = pc.if_else(
        pa.array(step == 1), join(',"shipping_method":', text(SHIPPING, np.clip(f.b, 0, 1))),
        pc.if_else(pa.array(step == 3),
                   join(',"payment_method":"', text(cat.PAYMENT_METHODS_WEB, f.b), '"'),
                   pa.scalar("", pa.string())))
    if f.kind[0] == fr.PAYMENT_INFO:
        props = join('{"checkout_id":"', r._cart(f, "co-"), '","step":3,"payment_method":"',
                     text(cat.PAYMENT_METHODS_WEB, f.b), '"}')
    else:
        props = join('{"checkout_id":"', r._cart(f, "co-"), '","step":', ints(step),
                     ',"step_name":', text(STEP_NAMES, step - 1), extra, "}")
    return {"properties": props, "context": r._ctx(f, rows)}


def _order_products(o: Orders, row: I64) -> pa.Array:
    parts: list[pa.Array | str] = []
    for k in range(3):
        p = o.product[row, k]
        item = join('{"product_id":"', text(PRODUCT_ID, p), '","quantity":',
                    ints(o.quantity[row, k]), ',"price":',
                    money(np.asarray([c.price for c in cat.PRODUCTS])[np.maximum(p, 0)]), "}")
        parts.append(item if k == 0 else when(p >= 0, join(",", pc.fill_null(item, ""))))
    return join("[", *parts, "]")


def _order(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    o = r.w.orders
    row = f.a
    revenue = o.subtotal[row] - o.discount[row]
    coupon = o.coupon[row]
    props = join(
        '{"order_id":"', _order_id(row), '","checkout_id":"', r._cart(f, "co-"),
        '","revenue":', money(revenue), ',"total":', money(revenue + o.shipping[row]),
        ',"shipping":', money(o.shipping[row]), ',"discount":', money(o.discount[row]),
        when(coupon >= 0, join(',"coupon":"', pc.fill_null(text(cat.COUPONS, coupon), ""), '"')),
        ',"currency":"ILS","payment_method":"', text(cat.PAYMENT_METHODS_WEB, o.payment[row]),
        '","products":', _order_products(o, row), "}")
    return {"properties": props, "context": r._ctx(f, rows),
            "revenue": pa.array(revenue / 100.0), "currency": _ils(len(f))}


def _order_id(row: I64) -> pa.Array:
    return join("OO-", ints(row + 100_001))


def _email(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    people = r.w.people
    names = r.w.campaigns.names
    lang = people.locale[f.person]
    subject = text(SUBJECT_JSON, lang * len(tx.EMAIL_SUBJECTS[0]) + f.b)
    name = text(names, f.a)
    email_id = join("em-", ints(f.person + 1), "-", ints(f.a))
    link = ""
    if f.kind[0] == fr.EMAIL_CLICKED:
        link = join(',"link_url":"', cat.SITE, "/sale?utm_source=newsletter&utm_medium=email"
                    "&utm_campaign=", name, '"')
    props = join('{"campaign_id":"cmp-', ints(f.a), '","campaign_name":"', name,
                 '","email_id":"', email_id, '","email_subject":', subject, link, "}")
    context = join('{"campaign":{"source":"newsletter","medium":"email","name":"', name,
                   '"},"locale":"', text(cat.LOCALES, lang), '","traits":{"email":"',
                   emails(people, f.person), '"}}')
    n = len(f)
    return {
        "properties": props, "context": context,
        "utm_source": text(["newsletter"], np.zeros(n, dtype=np.int64)),
        "utm_medium": text(["email"], np.zeros(n, dtype=np.int64)),
        "utm_campaign": name,
        "email_hash": _lookup(r.email_hashes, f.person),
    }


def _survey(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    s = r.w.surveys
    row = f.a
    people = r.w.people
    lang = people.locale[f.person]
    kind = s.survey[row]
    comment = s.comment[row]
    order = s.order[row]
    ticket = s.ticket[row]
    props = join(
        '{"survey":"', text(SURVEYS, kind), '","survey_id":"', text(SURVEY_IDS, s.survey_id[row]),
        '","score":', ints(s.score[row]), ',"scale_max":',
        ints(np.asarray([10, 5, 7])[kind]),
        when(comment >= 0, join(',"comment":', pc.fill_null(text(COMMENT_JSON, comment), ""))),
        ',"language":"', text(cat.LANGUAGES, lang), '","touchpoint":"',
        text(TOUCHPOINTS, s.touchpoint[row]), '","stage":"', text(STAGES, s.touchpoint[row]),
        '"', when(order >= 0, join(',"order_id":"', _order_id(np.maximum(order, 0)), '"')),
        when(ticket >= 0, join(',"ticket_id":"', _ticket_id(np.maximum(ticket, 0)), '"')), "}")
    by_email = s.by_email[row]
    context = join('{"locale":"', text(cat.LOCALES, lang), '"',
                   when(by_email, join(',"traits":{"email":"', emails(people, f.person), '"}')),
                   "}")
    token = join("svy-", pick(r.survey_token, row))
    return {
        "properties": props, "context": context,
        "email_hash": _lookup(r.email_hashes, np.where(by_email, f.person, -1)),
        "anonymous_id": pc.if_else(pa.array(by_email), token, pa.scalar(None, pa.string())),
    }


def _ticket_id(row: I64) -> pa.Array:
    return join("ZD-", ints(row + 200_001))


def _review(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    o = r.w.orders
    props = join('{"order_id":"', _order_id(f.a), '","product_id":"',
                 text(PRODUCT_ID, o.product[f.a, 0]), '","review_id":"rv-', ints(f.a + 1),
                 '","rating":', ints(f.b), "}")
    return {"properties": props, "context": _plain_context(r, f)}


def _plain_context(r: Renderer, f: fr.Frame) -> pa.Array:
    return join('{"locale":"', text(cat.LOCALES, r._locale(f)), '"}')


def _referral(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    props = join('{"referral_code":"OAK', ints(f.person + 1, 7), '","share_via":"',
                 text(SHARE_VIA, f.a), '"}')
    return {"properties": props, "context": _plain_context(r, f)}


def _refund(r: Renderer, f: fr.Frame, rows: I64, app: Bool) -> dict[str, pa.Array]:
    o = r.w.orders
    total = o.subtotal[f.a] - o.discount[f.a] + o.shipping[f.a]
    props = join('{"order_id":"', _order_id(f.a), '","total":', money(total),
                 ',"currency":"ILS"}')
    # the collector reads properties.total into revenue, as it would for a real message
    return {"properties": props, "context": _plain_context(r, f),
            "revenue": pa.array(total / 100.0), "currency": _ils(len(f))}


RENDERERS: dict[int, Render] = {
    fr.LANDING: _page, fr.PAGE: _page, fr.SEARCH: _search, fr.PRODUCT_VIEWED: _product,
    fr.PRODUCT_ADDED: _product, fr.CART_VIEWED: _cart_like, fr.CHECKOUT_STARTED: _cart_like,
    fr.COUPON_APPLIED: _coupon, fr.IDENTIFY: _identify, fr.SIGNED_UP: _signed_up,
    fr.CHECKOUT_STEP: _step, fr.PAYMENT_INFO: _step, fr.ORDER_COMPLETED: _order,
    fr.EMAIL_DELIVERED: _email, fr.EMAIL_OPENED: _email, fr.EMAIL_CLICKED: _email,
    fr.SURVEY: _survey, fr.REVIEW: _review, fr.REFERRAL: _referral, fr.REFUND: _refund,
}
