"""The demo data: its contract (schema, ids, determinism, files, mappings) and its planted
behaviours, measured on the raw rows with pandas (no other touchpath module involved)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from touchpath.demo import (
    Demo,
    DemoSpec,
    events_per_person_estimate,
    generate,
    people_for_size,
)
from touchpath.identity.keys import email_hash
from touchpath.spec.columns import INCOMING

JUNK = {"null", "0", "anonymous", "undefined"}
MAPPING_KEYS = {"source", "channel", "event", "type", "time_format", "timezone", "columns",
                "properties", "traits"}
MAPPING_FIELDS = {"message_id", "event", "user_id", "anonymous_id", "email", "phone",
                  "timestamp", "revenue", "currency", "channel", "utm_source", "utm_medium",
                  "utm_campaign", "session_id"}


@pytest.fixture(scope="module")
def small() -> Demo:
    return generate(DemoSpec(people=1500, seed=11))


@pytest.fixture(scope="module")
def big() -> Demo:
    """Enough people for the planted effects to stand clear of sampling noise."""
    return generate(DemoSpec(people=20_000, seed=3))


@pytest.fixture(scope="module")
def frame(big: Demo) -> pd.DataFrame:
    df = big.events.to_pandas()
    df.loc[df.user_id.isin(JUNK), "user_id"] = None
    # stitch the simple way: an anonymous id seen with exactly one user id belongs to them
    links = df.dropna(subset=["anonymous_id", "user_id"])
    users_per_anon = links.groupby("anonymous_id").user_id.nunique()
    links = links[links.anonymous_id.map(users_per_anon) == 1].drop_duplicates("anonymous_id")
    owner = dict(zip(links.anonymous_id, links.user_id, strict=True))
    df["person"] = df.user_id.fillna(df.anonymous_id.map(owner)).fillna(df.anonymous_id)
    return df


# ---------------------------------------------------------------------- contract
def test_schema_is_incoming(small: Demo) -> None:
    assert small.events.schema.equals(INCOMING)
    assert small.events.num_rows > 10 * 1500 * 0.6


def test_same_seed_same_data_other_seed_other_data(small: Demo) -> None:
    again = generate(DemoSpec(people=1500, seed=11))
    assert again.events.equals(small.events)
    for name in ("pos_sales", "pos_returns", "tickets", "people"):
        assert getattr(again, name).equals(getattr(small, name))
    other = generate(DemoSpec(people=1500, seed=12))
    assert not other.events.equals(small.events)


def test_ids_times_and_identity(small: Demo) -> None:
    e = small.events
    ids = e.column("message_id")
    assert pc.count_distinct(ids).as_py() == e.num_rows
    assert ids[0].as_py() == "demo-11-1"
    both_null = pc.and_(pc.is_null(e.column("anonymous_id")), pc.is_null(e.column("user_id")))
    assert not pc.any(both_null).as_py()
    ts = e.column("timestamp")
    assert pc.all(pc.greater_equal(e.column("received_at"), ts)).as_py()
    assert ts.to_pylist() == sorted(ts.to_pylist())
    start = pa.scalar(small.spec.start, pa.timestamp("us"))
    assert pc.min(ts).as_py() >= start.as_py()


def test_event_vocabulary(small: Demo) -> None:
    df = small.events.select(["type", "event", "name", "source", "session_id"]).to_pandas()
    assert set(df.type) <= {"track", "identify", "page", "screen"}
    assert (df.event[df.type == "page"] == "$page").all()
    assert (df.event[df.type == "screen"] == "$screen").all()
    assert (df.event[df.type == "identify"] == "$identify").all()
    assert df.name[df.type.isin(["page", "screen"])].notna().all()
    expected = {
        "Products Searched", "Product Viewed", "Product Added", "Cart Viewed",
        "Checkout Started", "Checkout Step Completed", "Payment Info Entered",
        "Order Completed", "Coupon Applied", "Signed Up", "Email Opened", "Email Link Clicked",
        "Order Refunded", "Referral Sent", "Review Submitted", "Survey Answered",
    }
    assert expected <= set(df.event)
    assert set(df.source) <= {"web", "ios", "android", "email"}
    assert {"web", "ios", "android"} <= set(df.source)
    web = df[df.type.isin(["page", "screen"])]
    assert web.session_id.notna().all()


def test_orders_carry_revenue_and_properties(small: Demo) -> None:
    df = small.events.to_pandas()
    orders = df[df.event == "Order Completed"]
    assert len(orders) > 20
    assert (orders.currency == "ILS").all()
    assert (orders.revenue > 0).all()
    props = orders.properties.map(json.loads)
    assert all({"order_id", "checkout_id", "products", "revenue"} <= set(p) for p in props)
    assert props.map(lambda p: p["revenue"]).round(2).tolist() == orders.revenue.round(2).tolist()
    assert df.channel.isna().all()


def test_identify_hashes_match_traits(small: Demo) -> None:
    ident = small.events.filter(pc.equal(small.events.column("type"), "identify")).to_pandas()
    assert len(ident) > 50
    traits = ident.traits.map(json.loads)
    assert [email_hash(t["email"]) for t in traits] == ident.email_hash.tolist()
    assert ident.user_id.notna().all() and ident.anonymous_id.notna().all()
    with_phone = ident[traits.map(lambda t: "phone" in t)]
    assert with_phone.phone_hash.notna().all() and len(with_phone) > 0


def test_survey_comments_speak_the_locale(small: Demo) -> None:
    df = small.events.filter(pc.equal(small.events.column("event"), "Survey Answered"))
    rows = [(json.loads(p), json.loads(c)) for p, c in zip(
        df.column("properties").to_pylist(), df.column("context").to_pylist(), strict=True)]
    assert {p["survey"] for p, _ in rows} == {"nps", "csat", "ces"}
    scripts = {"he": "\u0590", "ar": "\u0600"}
    for props, context in rows:
        assert props["language"] == context["locale"][:2]
        comment = props.get("comment")
        if comment and props["language"] in scripts:
            low = scripts[props["language"]]
            assert any(low <= ch <= chr(ord(low) + 0xFF) for ch in comment)


# ---------------------------------------------------------------------- offline files
def test_offline_files_parse_and_join_online(small: Demo, tmp_path: Path) -> None:
    written = small.write_offline_files(tmp_path)
    names = {path.name for path, _ in written}
    assert names == {"pos_sales.csv", "pos_returns.csv", "helpdesk_tickets.jsonl"}
    online = set(small.events.column("email_hash").drop_null().to_pylist())
    for path, mapping in written:
        assert set(mapping) <= MAPPING_KEYS
        assert set(mapping["columns"]) <= MAPPING_FIELDS
        assert "timestamp" in mapping["columns"]
        assert path.with_suffix(".mapping.yaml").exists()
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
        else:
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert rows
        header = set().union(*(r.keys() for r in rows))
        assert set(mapping["columns"].values()) <= header
        assert set(mapping["properties"]) <= header
        ids = [r[mapping["columns"]["message_id"]] for r in rows]
        assert len(set(ids)) == len(ids)
        hashes = {email_hash(r["email"]) for r in rows if r.get("email")}
        assert hashes & online, f"{path.name}: no e-mail joins an online identify"
        if "time_format" in mapping:
            stamp = rows[0][mapping["columns"]["timestamp"]]
            assert len(stamp) == 16 and stamp[2] == "/" and stamp[5] == "/"
        else:
            assert rows[0]["at"][-6] in "+-"


def test_pos_rows_have_a_contact(small: Demo) -> None:
    sales = small.pos_sales.to_pandas()
    assert (sales.email.notna() | sales.phone.notna()).all()
    assert (sales.currency == "ILS").all()
    assert set(sales.store_id) == {"TLV", "HFA", "JLM"}


# ---------------------------------------------------------------------- planted behaviours
def _first_touch(df: pd.DataFrame) -> pd.DataFrame:
    touches = df[df.type.isin(["page", "screen"]) | df.event.str.startswith("Email")]
    first = touches.sort_values("timestamp", kind="stable").drop_duplicates("person")
    medium = first.utm_medium.fillna("")
    social = first.utm_source.isin(["facebook", "instagram"])
    channel = pd.Series("other", index=first.index)
    channel[medium == "email"] = "email"
    channel[(medium == "paid_social") | ((medium == "cpc") & social)] = "paid_social"
    return first.assign(channel=channel)


def test_planted_1_email_converts_twice_paid_social(frame: pd.DataFrame) -> None:
    first = _first_touch(frame)
    buyers = set(frame.person[frame.event == "Order Completed"])
    rate = first.person.isin(buyers).groupby(first.channel).mean()
    ratio = rate["email"] / rate["paid_social"]
    assert 1.6 <= ratio <= 2.8, rate.to_dict()


def test_planted_2_payment_step_bug_on_safari_and_ios(frame: pd.DataFrame) -> None:
    steps = frame[frame.event == "Checkout Step Completed"]
    step = steps.properties.map(lambda p: json.loads(p)["step"])
    step2 = steps[step == 2]
    agent = step2.context.map(lambda c: json.loads(c).get("userAgent", ""))
    safari = agent.str.contains("Safari") & ~agent.str.contains("Chrome|Android")
    bug = safari | (step2.source == "ios")
    paid = step2.session_id.isin(set(frame.session_id[frame.event == "Payment Info Entered"]))
    bug_rate, other_rate = paid[bug].mean(), paid[~bug].mean()
    assert bug.sum() > 200 and (~bug).sum() > 200
    assert 0.3 <= bug_rate <= 0.5, bug_rate
    assert 0.7 <= other_rate <= 0.9, other_rate


def test_planted_3_ticket_holders_are_detractors(big: Demo, frame: pd.DataFrame) -> None:
    ticket_hashes = {email_hash(m) for m in big.tickets.column("email").to_pylist()}
    ident = frame[frame.type == "identify"]
    user_of = dict(zip(ident.email_hash, ident.user_id, strict=True))
    ticket_people = ticket_hashes | {user_of[h] for h in ticket_hashes if h in user_of}
    answers = frame[frame.event == "Survey Answered"]
    props = answers.properties.map(json.loads)
    nps = answers[props.map(lambda p: p["survey"] == "nps")]
    score = nps.properties.map(lambda p: json.loads(p)["score"])
    had_ticket = nps.user_id.isin(ticket_people) | nps.email_hash.isin(ticket_hashes)

    def net(s: pd.Series) -> float:
        return 100 * float((s >= 9).mean() - (s <= 6).mean())

    assert net(score[had_ticket]) < -20 < 20 < net(score[~had_ticket])


def test_planted_4_coupon_and_referral_repeat(big: Demo) -> None:
    people = big.people.to_pandas()
    online = people[~people.store_only]
    with_coupon = (online.online_orders[online.coupon.notna()] > 0).mean()
    without = (online.online_orders[online.coupon.isna()] > 0).mean()
    assert with_coupon > 1.25 * without
    customers = online[online.online_orders > 0]
    repeat = (customers.online_orders >= 2).groupby(customers.acquisition == "referral").mean()
    assert repeat[True] > 1.5 * repeat[False]


def test_planted_5_late_identification(frame: pd.DataFrame) -> None:
    identified = frame[frame.type == "identify"].groupby("user_id").timestamp.min()
    first_seen = frame.groupby("person").timestamp.min()
    buyers = frame.person[frame.event == "Order Completed"].unique()
    days = [(identified[b] - first_seen[b]).total_seconds() / 86400 for b in buyers
            if b in identified.index]
    assert sum(d > 1 for d in days) / len(days) > 0.3


def test_planted_6_over_merge_traps(big: Demo) -> None:
    df = big.events.select(["anonymous_id", "user_id"]).to_pandas()
    users = df.dropna().groupby("anonymous_id").user_id.nunique()
    kiosks = users[users.index.str.startswith("kiosk-")]
    assert len(kiosks) == 3 and (kiosks > 5).all()
    assert (users[~users.index.str.startswith("kiosk-")] > 1).sum() >= 3  # family devices
    assert df.user_id.isin(JUNK).sum() >= 3


# ---------------------------------------------------------------------- sizes
def test_people_for_size() -> None:
    assert people_for_size("small") == 2000
    assert people_for_size("medium") == 50_000
    assert people_for_size("large") == 1_000_000
    assert people_for_size("12345") == 12345
    with pytest.raises(ValueError):
        people_for_size("huge")
    with pytest.raises(ValueError):
        people_for_size("0")


def test_events_per_person_estimate(big: Demo) -> None:
    measured = big.events.num_rows / big.spec.people
    assert 8 <= measured <= 15
    assert abs(measured - events_per_person_estimate()) / measured < 0.2


def test_tiny_population_works() -> None:
    demo = generate(DemoSpec(people=5, seed=1, days=30))
    assert demo.events.schema.equals(INCOMING)
