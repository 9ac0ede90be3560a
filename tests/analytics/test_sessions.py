"""Sessions (inactivity cut-off, optional campaign split) against a plain-Python reference."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.reference.stages import next_period, period_start, quantile
from tests.analytics.strategies import event_rows, source_of
from touchpath.analytics import Filters, from_dict, to_dict
from touchpath.analytics.frame import scoped_events
from touchpath.analytics.sessions import SessionsSpec, run_sessions
from touchpath.errors import ValidationError

T = datetime(2026, 1, 5, 9, 0)


def reference(events: list[dict[str, Any]], period: str, zone: str = "UTC") -> dict[str, Any]:
    """Sessions per period (of ``zone``) from scoped events that carry ``session_id`` (in
    order)."""
    sessions: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        sessions.setdefault(event["session_id"], []).append(event)

    def measure(group: list[list[dict[str, Any]]]) -> dict[str, Any]:
        lengths = [(s[-1]["timestamp"] - s[0]["timestamp"]).total_seconds() for s in group]
        depths = [float(len(s)) for s in group]
        people = len({s[0]["person_id"] for s in group})
        return {
            "sessions": len(group), "people": people,
            "sessions_per_person": len(group) / people if people else None,
            "median_length_seconds": quantile(lengths, 0.5),
            "p90_length_seconds": quantile(lengths, 0.9),
            "median_events": quantile(depths, 0.5), "p90_events": quantile(depths, 0.9),
            "bounce_rate": (sum(1 for s in group if len(s) == 1) / len(group)
                            if group else None),
        }

    by_period: dict[datetime, list[list[dict[str, Any]]]] = {}
    for own in sessions.values():
        by_period.setdefault(period_start(common.local(own[0]["timestamp"], zone), period),
                             []).append(own)
    rows = []
    if by_period:
        start, last = min(by_period), max(by_period)
        while start <= last:
            rows.append({"period": start, **measure(by_period.get(start, []))})
            start = next_period(start, period)
    channels = Counter(own[0]["channel"] or "(none)" for own in sessions.values())
    entry = sorted(channels.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"rows": rows, "summary": measure(list(sessions.values())), "entry": entry}


def _equal(have: Any, want: Any) -> bool:
    if want is None:
        return have is None or pd.isna(have)
    if isinstance(want, float):
        return bool(have == pytest.approx(want, rel=1e-9, abs=1e-6))
    return bool(have == want)


@st.composite
def tagged_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The shared random logs, with utm_source and utm_medium as well (campaigns that differ
    in one tag only, and events that carry some tags but not others)."""
    rows = draw(event_rows(minutes=60 * 24 * 3))
    for row in rows:
        row["utm_source"] = draw(st.sampled_from((None, None, "google", "news")))
        row["utm_medium"] = draw(st.sampled_from((None, None, "cpc", "")))
    return rows


SPECS = [
    {}, {"split_on_campaign": True}, {"timeout_seconds": 900, "period": "week"},
    {"timeout_seconds": 7200, "split_on_campaign": True, "period": "month"},
    {"split_on_campaign": True, "filters": {"channels": ["email", "direct"]}},
    {"split_on_campaign": True,
     "filters": {"date_range": {"start": "2026-01-02", "end": "2026-01-02"}}},
    {"filters": {"timezone": "Asia/Kathmandu",
                 "date_range": {"start": "2026-01-02", "end": "2026-01-02"}}},
]


@settings(max_examples=60, deadline=None)
@given(tagged_rows())
def test_sessions_equal_the_reference(rows: list[dict[str, Any]]) -> None:
    source = source_of(rows)
    every = common.load(source)
    for data in SPECS:
        spec = from_dict(SessionsSpec, data)
        scoped = common.scoped(every, spec.filters, with_sessions=True,
                               session_timeout_seconds=spec.timeout_seconds,
                               split_on_campaign=spec.split_on_campaign)
        got = (scoped_events(source, spec.filters, sessions=True,
                             session_timeout_seconds=spec.timeout_seconds,
                             split_on_campaign=spec.split_on_campaign)
               .order_by(["person_id", "timestamp", "message_id"]).to_pyarrow().to_pylist())
        assert [(e["message_id"], e["session_id"]) for e in got] == [
            (e["message_id"], e["session_id"]) for e in scoped], data

        want = reference(scoped, spec.period, spec.filters.timezone or "UTC")
        result = run_sessions(source, spec)
        frame = result.frame.to_dict(orient="records")
        assert len(frame) == len(want["rows"]), data
        for row, expected in zip(frame, want["rows"], strict=True):
            for key, value in expected.items():
                have = row[key]
                if key == "period":
                    have = pd.Timestamp(have).to_pydatetime()
                assert _equal(have, value), (data, key, row, expected)
        for key, value in want["summary"].items():
            assert _equal(result.summary[key], value), (data, key, result.summary)
        entry = [(r["channel"], r["sessions"]) for r in
                 result.entry_channels.to_dict(orient="records")]
        assert entry == want["entry"], data


def test_the_campaign_split_by_hand() -> None:
    """One person, times in minutes after 09:00, tags as (source, medium, campaign):
    0 no tags; 5 google/cpc/spring (a campaign after none: new session); 10 no tags (stays);
    12 google/cpc/spring again (same campaign: stays); 14 google/cpc/summer (new); 20
    google/None/summer (differs in medium: new); 60 no tags (50 minutes later: new by the
    timeout); 61 google/None/summer (after an untagged start: new)."""
    tags = [(0, None), (5, ("google", "cpc", "spring")), (10, None),
            (12, ("google", "cpc", "spring")), (14, ("google", "cpc", "summer")),
            (20, ("google", None, "summer")), (60, None), (61, ("google", None, "summer"))]
    rows = []
    for i, (minute, tag) in enumerate(tags):
        source, medium, campaign = tag or (None, None, None)
        rows.append({"message_id": f"m{i}", "person_id": "p1", "event": "$page",
                     "timestamp": T + timedelta(minutes=minute), "utm_source": source,
                     "utm_medium": medium, "utm_campaign": campaign})
    events = source_of(rows)
    split = [e["session_index"] for e in scoped_events(
        events, Filters(), sessions=True, split_on_campaign=True).order_by("message_id")
        .to_pyarrow().to_pylist()]
    assert split == [1, 2, 2, 2, 3, 4, 5, 6]
    plain = [e["session_index"] for e in scoped_events(events, Filters(), sessions=True)
             .order_by("message_id").to_pyarrow().to_pylist()]
    assert plain == [1, 1, 1, 1, 1, 1, 2, 2]
    result = run_sessions(events, SessionsSpec(split_on_campaign=True))
    # sessions 2 (3 events, 7 min) and 1, 3, 4, 5, 6 (one event each): bounce 5/6
    assert result.summary["sessions"] == 6
    assert result.summary["bounce_rate"] == pytest.approx(5 / 6)
    assert result.summary["median_length_seconds"] == 0
    assert result.summary["p90_length_seconds"] == pytest.approx(0.5 * 420)
    assert result.frame[["sessions", "people"]].values.tolist() == [[6, 1]]
    assert result.entry_channels.values.tolist() == [["direct", 6, 1.0]]
    assert json.loads(json.dumps(result.to_dict()))["summary"]["sessions"] == 6
    assert result.figure().data[0].type == "bar"


def test_bad_specs_name_the_field() -> None:
    for data, field in [({"timeout_seconds": 0}, "timeout_seconds"),
                        ({"timeout_seconds": "30m"}, "timeout_seconds"),
                        ({"period": "hour"}, "period"),
                        ({"split_on_campaign": "yes"}, "split_on_campaign"),
                        ({"filters": {"channels": "web"}}, "filters.channels")]:
        with pytest.raises(ValidationError) as caught:
            from_dict(SessionsSpec, data)
        assert caught.value.field == field


def test_specs_survive_json_and_empty_sources_give_empty_results() -> None:
    spec = SessionsSpec(timeout_seconds=600, split_on_campaign=True, period="week")
    assert from_dict(SessionsSpec, json.loads(json.dumps(to_dict(spec)))) == spec
    result = run_sessions(source_of([]), spec)
    assert result.frame.empty and result.summary["sessions"] == 0
    json.dumps(result.to_dict())


def test_demo_sessions_are_visits(demo_store: Any) -> None:
    """The demo marks each visit with its own session id: with a 30-minute timeout, touchpath's
    sessions of visit events come close to the demo's visits (never more, since no visit
    lasts 30 minutes; fewer where two visits, or a visit and an e-mail, are close together).
    Surveys, reviews, referrals and refunds come from the web but belong to no visit."""
    web = from_dict(Filters, {"where": [
        {"property": "source", "op": "in", "value": ["web", "ios", "android"]},
        {"property": "event", "op": "not_in",
         "value": ["Survey Answered", "Review Submitted", "Referral Sent", "Order Refunded"]}]})
    result = run_sessions(demo_store, SessionsSpec(period="month", filters=web))
    events = demo_store.table("events")
    visits = events.filter(events.source.isin(["web", "ios", "android"])
                           & events.session_id.notnull())
    demo_visits = int(visits.select("person_id", "session_id").distinct().count().to_pandas())
    ours = result.summary["sessions"]
    assert 0.9 * demo_visits <= ours <= demo_visits, (ours, demo_visits)
    assert 0 < result.summary["bounce_rate"] < 0.5
    assert set(result.entry_channels["channel"]) >= {"paid_search", "email", "direct"}
    split = run_sessions(demo_store, SessionsSpec(period="month", filters=web,
                                                  split_on_campaign=True))
    assert split.summary["sessions"] >= ours
