"""The journey map: a small event log worked out by hand (golden/events.csv), the demo's planted
checkout problem, opportunities kept in the store, spec errors, and the helpers behind the
pain points and the emotion curve (z-test p-values, browser families, score scaling).

The golden file ``golden/expected.json`` is the whole JSON answer for ``events.csv``; after a
deliberate change of the map, regenerate it with
``JOURNEYMAP_REGENERATE=1 .venv/bin/pytest tests/journeymap -q -k golden_file`` and read the
diff. The hand-checked numbers are asserted one by one in the ``test_golden_*`` tests.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.analytics.examples import same
from tests.analytics.strategies import source_of
from touchpath.analytics.codec import from_dict, to_dict
from touchpath.analytics.filters import DateRange, EventMatcher, Filters
from touchpath.analytics.funnels import FunnelSpec, FunnelStep, run_funnel
from touchpath.analytics.registry import ANALYSES, run_json
from touchpath.config import load_settings
from touchpath.demo.load import load_demo
from touchpath.errors import NotFoundError, ValidationError
from touchpath.journeymap import (
    ClickRate,
    JourneyMapResult,
    JourneyMapSpec,
    delete_opportunity,
    run_journey_map,
    save_opportunity,
    saved_opportunities,
)
from touchpath.journeymap.emotion import normalised
from touchpath.journeymap.pains import ALPHA, GAP, browser_family, p_value
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.store.schema import EXPORT_TABLES
from touchpath.voice.sentiment import get_scorer

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "JOURNEYMAP_REGENERATE"
GOLDEN_SPEC = JourneyMapSpec(top=3, min_n=2, return_days=3)
STAGES = ["awareness", "consideration", "purchase", "retention", "advocacy"]
MINUTE = 60 / 86400  # in days


# -- the golden log ---------------------------------------------------------------------------
#
# Four people through the default model (src/touchpath/journey/templates/default.yaml). Each
# event's own stage by the template's rules, then ``at`` (the stage the person is in once it
# happened) and ``before`` (the ``at`` of the person's previous event):
#
#   p1  $page(utm) aw | Product Viewed, Product Added co | Checkout Started, Payment Info
#       Entered, Order Completed 100 pu | Email Delivered (no rule: stays pu) | Email Opened,
#       Email Link Clicked, Order Completed 40 (after an order) re | Survey Answered NPS 10 ad
#       -> the NPS answer's own stage is Advocacy, its ``before`` is Retention
#   p2  $page aw | Product Viewed co | Checkout Started pu | Survey Answered CSAT 1 + a negative
#       comment (no rule: pu, before pu) | Support Ticket Opened (not after an order: pu)
#   p3  Email Delivered (first event) aw | Email Link Clicked, $page (utm_source, before any
#       product event) aw | Product Viewed co | Survey Answered NPS 3 (no rule: co, before co)
#   p4  $page aw | Email Delivered aw | Survey Answered CSAT 4 aw (before aw)


def golden_rows() -> list[dict[str, Any]]:
    with (GOLDEN / "events.csv").open(encoding="utf-8") as handle:
        return [{
            "message_id": row["message_id"], "person_id": row["person_id"],
            "event": row["event"], "timestamp": datetime.fromisoformat(row["timestamp"]),
            "source": row["source"] or None, "channel": row["channel"] or None,
            "utm_source": row["utm_source"] or None,
            "revenue": float(row["revenue"]) if row["revenue"] else None,
            "properties": json.loads(row["properties"]) if row["properties"] else None,
        } for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def golden() -> JourneyMapResult:
    return run_journey_map(source_of(golden_rows()), GOLDEN_SPEC)


def _lane(result: JourneyMapResult, name: str) -> dict[str, list[list[Any]]]:
    return {stage: result.lane(name, stage).values.tolist() for stage in STAGES
            if len(result.lane(name, stage))}


def test_golden_lanes(golden: JourneyMapResult) -> None:
    # touchpoints (source) by the people, then events, with an event counted in its ``at``:
    # awareness: web p1a p2a p3c p4a p4c (5 events, 4 people), email p3a p3b p4b (3, 2);
    # purchase: web p1d-f p2c p2d (5, 2), then email p1g and helpdesk p2e tie at (1, 1): by name
    assert _lane(golden, "touchpoints") == {
        "awareness": [["web", 5, 4], ["email", 3, 2]],
        "consideration": [["web", 5, 3]],
        "purchase": [["web", 5, 2], ["email", 1, 1], ["helpdesk", 1, 1]],
        "retention": [["email", 2, 1], ["web", 1, 1]],
        "advocacy": [["web", 1, 1]],
    }
    # channels: awareness email p3a-c p4b (4, 2), direct p4a p4c (2, 1), then organic_search
    # and paid_search at (1, 1): top 3 keeps organic_search (by name); p2e has no channel
    assert _lane(golden, "channels") == {
        "awareness": [["email", 4, 2], ["direct", 2, 1], ["organic_search", 1, 1]],
        "consideration": [["direct", 5, 3]],
        "purchase": [["direct", 5, 2], ["email", 1, 1]],
        "retention": [["email", 2, 1], ["direct", 1, 1]],
        "advocacy": [["direct", 1, 1]],
    }
    # actions: awareness $page x4, Email Delivered p3a p4b, then Email Link Clicked (p3b) and
    # Survey Answered (p4c) tie at (1, 1): by name
    assert _lane(golden, "actions") == {
        "awareness": [["$page", 4, 4], ["Email Delivered", 2, 2],
                      ["Email Link Clicked", 1, 1]],
        "consideration": [["Product Viewed", 3, 3], ["Product Added", 1, 1],
                          ["Survey Answered", 1, 1]],
        "purchase": [["Checkout Started", 2, 2], ["Email Delivered", 1, 1],
                     ["Order Completed", 1, 1]],
        "retention": [["Email Link Clicked", 1, 1], ["Email Opened", 1, 1],
                      ["Order Completed", 1, 1]],
        "advocacy": [["Survey Answered", 1, 1]],
    }
    # paths: a step to a different next event with the same ``at`` (p1a -> p1b crosses from
    # awareness to consideration: a step of neither). Every step here is one person once, so
    # the order is by event, then next event: awareness keeps 3 of p3's and p4's 4 steps
    # (Email Link Clicked -> $page is cut), consideration has p1's and p3's Product Viewed
    assert _lane(golden, "paths") == {
        "awareness": [["$page", "Email Delivered", 1, 1],
                      ["Email Delivered", "Email Link Clicked", 1, 1],
                      ["Email Delivered", "Survey Answered", 1, 1]],
        "consideration": [["Product Viewed", "Product Added", 1, 1],
                          ["Product Viewed", "Survey Answered", 1, 1]],
        "purchase": [["Checkout Started", "Payment Info Entered", 1, 1],
                     ["Checkout Started", "Survey Answered", 1, 1],
                     ["Order Completed", "Email Delivered", 1, 1]],
        "retention": [["Email Link Clicked", "Order Completed", 1, 1],
                      ["Email Opened", "Email Link Clicked", 1, 1]],
    }


def test_golden_kpis(golden: JourneyMapResult) -> None:
    frame = golden.frame.set_index("stage")
    assert list(frame.index) == STAGES
    # entered: everyone starts in awareness; p1 p2 p3 reach consideration; p1 p2 purchase;
    # only p1 retention and advocacy (by the NPS 10 answer). Now: p4 aw, p3 co, p2 pu, p1 ad.
    assert list(frame["entered"]) == [4, 3, 2, 1, 1]
    assert list(frame["people_now"]) == [1, 1, 1, 0, 1]
    assert list(frame["active"]) == [4, 3, 2, 1, 1]
    assert list(frame["events"]) == [8, 5, 7, 3, 1]  # 24 events in all
    assert list(frame["conversion"])[:4] == [3 / 4, 2 / 3, 1 / 2, 1.0]
    assert pd.isna(frame.loc["advocacy", "conversion"])
    # median time to the next stage: aw -> co 5, 5 and 40 minutes; co -> pu 15 and 5 minutes;
    # pu -> re from Jan 1 09:20 to Jan 3 10:05; re -> ad from Jan 3 10:05 to Jan 5 12:00
    assert frame.loc["awareness", "median_days_to_next"] == pytest.approx(5 * MINUTE)
    assert frame.loc["consideration", "median_days_to_next"] == pytest.approx(10 * MINUTE)
    assert frame.loc["purchase", "median_days_to_next"] == pytest.approx(2 + 45 * MINUTE)
    assert frame.loc["retention", "median_days_to_next"] == pytest.approx(2 + 115 * MINUTE)
    # revenue by ``at``: the first order (100) in purchase, the second (40) in retention
    assert frame.loc["purchase", "revenue"] == 100.0
    assert frame.loc["retention", "revenue"] == 40.0
    assert frame[["revenue"]].drop(["purchase", "retention"]).isna().all().all()
    # CTR = Email Link Clicked / Email Delivered in the stage: awareness 1 / 2 (p3 clicked,
    # p4 did not); purchase 0 / 1 (p1g; p1's click came after Email Opened moved p1 to
    # retention); retention has a click but no delivery: no rate
    assert frame.loc["awareness", "ctr"] == 0.5
    assert frame.loc["purchase", "ctr"] == 0.0
    assert pd.isna(frame.loc["retention", "ctr"]) and pd.isna(frame.loc["consideration", "ctr"])
    rates = golden.tables["click_rates"]
    assert rates[["stage", "impressions", "clicks"]].values.tolist() == [
        ["awareness", 2, 1], ["consideration", 0, 0], ["purchase", 1, 0], ["retention", 0, 1],
        ["advocacy", 0, 0]]
    # returned (return_days=3): of the people who entered a stage at least 3 days before the
    # last event (Jan 6 09:00), those with an event 1 to 3 days after entering. Awareness:
    # p1 p2 p3 eligible (p4 entered Jan 3 11:00: too late), only p1 came back (Jan 3).
    assert frame.loc["awareness", "returned_rate"] == pytest.approx(1 / 3)
    assert frame.loc["consideration", "returned_rate"] == pytest.approx(1 / 3)
    assert frame.loc["purchase", "returned_rate"] == 0.5
    assert pd.isna(frame.loc["retention", "returned_rate"])  # entered Jan 3 10:05: too late
    # survey KPIs: awareness CSAT 4 (top-two-box 100%), consideration NPS 3 (-100),
    # purchase CSAT 1 (0%), retention NPS 10 (+100)
    assert frame.loc["awareness", "csat"] == 100.0 and frame.loc["purchase", "csat"] == 0.0
    assert frame.loc["consideration", "nps"] == -100.0 and frame.loc["retention", "nps"] == 100.0
    assert list(frame["answers"]) == [1, 1, 1, 1, 0]
    assert golden.summary["checkout"] == ["Checkout Started", "Payment Info Entered",
                                          "Order Completed"]  # no Checkout Step Completed
    assert golden.summary["problems"] == ["Support Ticket Opened"]
    assert golden.summary["click_rates"] == ["email"]  # no ad impressions in the log


def test_golden_emotion(golden: JourneyMapResult) -> None:
    scorer = get_scorer("lexicon")
    praise = scorer.score_one("Great service, I love it, excellent", "en")
    complaint = scorer.score_one("Terrible, the payment page is broken and slow", "en")
    assert praise > 0 > complaint
    curve = golden.emotion.set_index("stage")
    # awareness: CSAT 4 on 1..5 is 2 * (4 - 1) / 4 - 1 = 0.5
    assert curve.loc["awareness", "emotion"] == 0.5
    # consideration: NPS 3 is a detractor, -1
    assert curve.loc["consideration", "emotion"] == -1.0
    # purchase: CSAT 1 is -1, and the complaint's sentiment: their mean
    assert curve.loc["purchase", "emotion"] == pytest.approx((-1 + complaint) / 2)
    assert curve.loc["purchase", "score_part"] == -1.0
    assert curve.loc["purchase", "sentiment"] == pytest.approx(complaint)
    # retention: the NPS 10 answer (+1) and the praise, in the stage before the answer
    assert curve.loc["retention", "emotion"] == pytest.approx((1 + praise) / 2)
    assert curve[["answers", "comments"]].values.tolist() == [[1, 0], [1, 0], [1, 1], [1, 1]]
    assert curve["small_sample"].all()  # 1 answer each, min_n 2


def test_golden_an_answer_counts_in_the_stage_before_it(golden: JourneyMapResult) -> None:
    """p1's NPS 10 answer moves p1 into Advocacy (the template's promoter rule), yet it rates
    Retention, where p1 was when asked: Advocacy has no emotion point at all."""
    assert golden.frame.set_index("stage").loc["advocacy", "entered"] == 1
    assert golden.lane("actions", "advocacy").values.tolist() == [["Survey Answered", 1, 1]]
    assert "advocacy" not in set(golden.emotion["stage"])
    assert golden.emotion.set_index("stage").loc["retention", "nps"] == 100.0


def test_golden_pain_points(golden: JourneyMapResult) -> None:
    pains = golden.pain_points
    # min_n 2: the slowest transition with 2+ movers is co -> pu (median 10 min) against
    # aw -> co (5 min), 2 people; the checkout (3 steps the log has) started by p1 p2, finished
    # by p1, lost at Payment Info Entered; half of purchase never reached retention (a drop-off
    # is "at least 50%"); p2's ticket is a problem in purchase. Ties in ``affected``: by kind.
    assert pains[["id", "affected"]].values.tolist() == [
        ["slow_transition:consideration:purchase", 2],
        ["checkout_abandonment:purchase", 1],
        ["checkout_step:purchase:Payment Info Entered", 1],
        ["drop_off:purchase:retention", 1],
        ["problems:purchase", 1],
    ]
    assert pains["suggested"].all() and set(pains["status"]) == {"open"}
    step = pains.set_index("kind").loc["checkout_step"]
    assert step["evidence"] == {"step": 2, "step_label": "Payment Info Entered", "reached": 2,
                                "lost": 1}
    assert "Payment Info Entered" in step["action"]
    assert pains.set_index("kind").loc["problems", "evidence"] == {
        "people": 1, "active": 2, "events": {"Support Ticket Opened": 1}}
    # no segment gap: everyone who started the checkout came from the web (nobody else to
    # compare with); no low scores: one answer per touchpoint and survey, below min_n
    assert not {"segment_gap", "low_scores"} & set(pains["kind"])


def test_golden_file(golden: JourneyMapResult) -> None:
    answer = json.loads(json.dumps(golden.to_dict(), allow_nan=False))
    path = GOLDEN / "expected.json"
    if os.environ.get(REGENERATE) == "1":
        path.write_text(json.dumps(answer, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    assert same(answer, json.loads(path.read_text(encoding="utf-8")), rel=1e-9), (
        f"the map of golden/events.csv changed; if that is meant, {REGENERATE}=1 rewrites it")


def test_an_answer_on_another_scale_counts_in_the_emotion_not_in_the_metric() -> None:
    """A CSAT asked on 1..10: 8 is 2 * (8 - 1) / 9 - 1 = 5/9 on the curve, but CSAT is
    defined on 1..5, so the stage has no CSAT from it (as the satisfaction analysis leaves
    it out); it must not fail the map."""
    rows = [*golden_rows(), {
        "message_id": "p4d", "person_id": "p4", "event": "Survey Answered",
        "timestamp": datetime(2026, 1, 3, 13), "properties": {
            "survey": "csat", "score": 8, "scale_min": 1, "scale_max": 10}}]
    curve = run_journey_map(source_of(rows), GOLDEN_SPEC).emotion.set_index("stage")
    assert curve.loc["awareness", "answers"] == 2
    assert curve.loc["awareness", "emotion"] == pytest.approx((0.5 + 5 / 9) / 2)
    assert curve.loc["awareness", "csat"] == 100.0 and curve.loc["awareness", "csat_n"] == 1


def test_events_before_the_first_stage_are_in_no_stage() -> None:
    """The post_purchase template starts at the first order: p2, p3, p4 never ordered and
    p1's events before the order are in no stage, so no lane, KPI or curve counts them.
    p1: Order Completed (first) Onboarding, Email Delivered stays there; Email Opened and
    Email Link Clicked after an order: Engagement; the second order: Retention; NPS 10:
    Advocacy (Loyalty's NPS >= 7 rule matches too; the latest stage wins), rating Retention."""
    result = run_journey_map(source_of(golden_rows()),
                             JourneyMapSpec(model="post_purchase", top=3, min_n=1))
    frame = result.frame.set_index("stage")
    assert list(frame["events"]) == [2, 2, 1, 0, 1]
    assert list(frame["active"]) == [1, 1, 1, 0, 1]
    assert list(frame["entered"]) == [1, 1, 1, 0, 1]
    assert frame.loc["onboarding", "revenue"] == 100.0
    assert frame.loc["retention", "revenue"] == 40.0
    assert set(result.tables["touchpoints"]["stage"]) == {"onboarding", "engagement",
                                                          "retention", "advocacy"}
    assert result.emotion["stage"].tolist() == ["retention"]  # the others' answers: no stage
    assert result.summary["people"] == 4 and result.summary["people_in_stages"] == 1


def test_a_checkout_step_the_log_lacks_is_left_out_and_a_short_checkout_is_none() -> None:
    rows = [r for r in golden_rows() if r["event"] != "Payment Info Entered"]
    result = run_journey_map(source_of(rows), GOLDEN_SPEC)
    assert result.summary["checkout"] == ["Checkout Started", "Order Completed"]
    only_orders = [r for r in rows if r["event"] != "Checkout Started"]
    result = run_journey_map(source_of(only_orders), GOLDEN_SPEC)
    assert result.summary["checkout"] == []
    assert not result.pain_points["kind"].str.startswith("checkout").any()


IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1")
WINDOWS_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/131.0.0.0 Safari/537.36")


def _checkout_rows() -> list[dict[str, Any]]:
    """160 people start the checkout and answer a CSAT survey: 100 on the web with Chrome on
    Windows (80 pay; 10 low answers about delivery), 40 in the iOS app without a user agent
    (10 pay; 30 low answers about support), 20 on the web with Safari on an iPhone (15 pay;
    no low answer, about delivery)."""
    rows: list[dict[str, Any]] = []
    groups = [("w", "web", WINDOWS_CHROME, 100, 80, "delivery", 10),
              ("i", "ios", None, 40, 10, "support", 30),
              ("s", "web", IPHONE_SAFARI, 20, 15, "delivery", 0)]
    for prefix, source, agent, people, paying, touchpoint, low in groups:
        for i in range(people):
            at = datetime(2026, 2, 1) + timedelta(hours=len(rows))
            common = {"person_id": f"{prefix}{i}", "source": source,
                      "context": {"userAgent": agent} if agent else None}
            rows.append({**common, "event": "Checkout Started", "timestamp": at})
            if i < paying:
                rows.append({**common, "event": "Payment Info Entered",
                             "timestamp": at + timedelta(minutes=5)})
            rows.append({**common, "event": "Survey Answered", "timestamp": at + timedelta(
                minutes=9), "properties": {"survey": "csat", "score": 1 if i < low else 5,
                                           "touchpoint": touchpoint}})
    return rows


def test_segment_gaps_and_low_scores_by_hand() -> None:
    result = run_journey_map(source_of(_checkout_rows()), JourneyMapSpec(min_n=20))
    pains = result.pain_points.set_index("id")
    # the iOS app: 10 of 40 go on (25%); everyone else 95 of 120 (79.2%): 22 people lost
    # beyond the others' rate (40 x 0.5417 = 21.7)
    gap = pains.loc["segment_gap:purchase:Payment Info Entered:source=ios"]
    assert (gap["rate"], gap["baseline"]) == (0.25, pytest.approx(95 / 120))
    assert gap["affected"] == 22 and gap["p_value"] == pytest.approx(p_value(10, 40, 95, 120))
    assert gap["evidence"] == {"dimension": "source", "group": "ios", "step": 2,
                               "step_label": "Payment Info Entered",
                               "from_label": "Checkout Started", "people": 40, "passed": 10}
    assert gap["analysis_spec"]["breakdown"] == "source"
    # Safari (iOS) passes 75% against 64.3% of the rest, Chrome (Windows) 80% against 41.7%:
    # no browser gap; the web source does better than the rest
    assert list(result.pain_points["kind"]).count("segment_gap") == 1
    # support answers: 30 of 40 low (75%) against 10 of 120 at the other touchpoints (8.3%):
    # 27 low answers beyond the others' share (40 x 0.6667 = 26.7), in the stage the people
    # were in when they answered (Purchase)
    low = pains.loc["low_scores:purchase:support:csat"]
    assert (low["rate"], low["baseline"], low["affected"]) == (0.75, pytest.approx(10 / 120), 27)
    assert low["p_value"] == pytest.approx(p_value(30, 40, 10, 120))
    assert low["analysis"] == "satisfaction"
    assert low["analysis_spec"] == {"metric": "csat", "breakdown": "touchpoint"}
    assert pains.loc["checkout_abandonment:purchase", "evidence"] == {"started": 160,
                                                                      "finished": 105}
    # ranked: drop-off (160 never reach Retention), checkout (55 and 55), low scores, the gap
    assert list(result.pain_points["kind"]) == [
        "drop_off", "checkout_abandonment", "checkout_step", "low_scores", "segment_gap"]
    # with min_n above the iOS app's 40 people, neither is a pain point any more
    fewer = run_journey_map(source_of(_checkout_rows()), JourneyMapSpec(min_n=41))
    assert not {"segment_gap", "low_scores"} & set(fewer.pain_points["kind"])


# -- the demo ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    path = tmp_path_factory.mktemp("journeymap") / "demo.duckdb"
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        load_demo(store, size="2000", seed=7)
        yield store


@pytest.fixture(scope="module")
def demo_map(demo: DuckDBStore) -> JourneyMapResult:
    return run_journey_map(demo, JourneyMapSpec())


def test_the_planted_checkout_problem_is_a_pain_point(demo_map: JourneyMapResult) -> None:
    """The demo's payment step fails far more often on Safari and the iOS app (planted
    behaviour 2: 40% go on against 80% elsewhere)."""
    pains = demo_map.pain_points.set_index("id")
    gap = pains.loc["segment_gap:purchase:Payment Info Entered:browser=Safari (iOS)"]
    assert gap["kind"] == "segment_gap" and gap["stage"] == "purchase"
    assert gap["evidence"]["dimension"] == "browser" and gap["evidence"]["group"] == "Safari (iOS)"
    assert gap["evidence"]["from_label"] == "Checkout Step Completed"
    assert gap["rate"] < 0.5 < gap["baseline"] and gap["baseline"] - gap["rate"] >= GAP
    assert gap["p_value"] < ALPHA
    assert gap["affected"] == round(gap["evidence"]["people"] * (gap["baseline"] - gap["rate"]))
    step = pains.loc["checkout_step:purchase:Payment Info Entered"]
    assert step["evidence"]["step_label"] == "Payment Info Entered"
    assert "checkout_abandonment:purchase" in pains.index
    # no other browser family or source is called out at this step: the bug is Safari's
    gaps = demo_map.pain_points[demo_map.pain_points["kind"] == "segment_gap"]
    for evidence in gaps["evidence"]:
        assert evidence["group"] in {"Safari (iOS)", "Safari (macOS)", "ios"}, evidence


def test_pain_points_are_ranked_and_point_to_their_analysis(demo: DuckDBStore,
                                                            demo_map: JourneyMapResult) -> None:
    pains = demo_map.pain_points
    assert len(pains) == demo_map.summary["pain_points"] >= 5
    assert list(pains["affected"]) == sorted(pains["affected"], reverse=True)
    assert pains["id"].is_unique
    # an analysis of the registry, or the people page (the problem events' people)
    for kind, analysis in zip(pains["kind"], pains["analysis"], strict=True):
        assert analysis == "people" if kind == "problems" else analysis in ANALYSES, kind
    assert all(isinstance(s, dict) for s in pains["analysis_spec"])
    # the funnel behind the checkout pain points answers their numbers
    abandon = pains.set_index("kind").loc["checkout_abandonment"]
    link = abandon["analysis_spec"]
    funnel = run_funnel(demo, FunnelSpec(steps=tuple(FunnelStep(s) for s in link["steps"]),
                                         window_seconds=link["window_seconds"])).frame
    assert [int(funnel["count"].iloc[0]), int(funnel["count"].iloc[-1])] == [
        abandon["evidence"]["started"], abandon["evidence"]["finished"]]
    # the stage pain points are the stages analysis' conversion
    conversion = run_json(demo, "stages", {}).tables["conversion"].set_index("from_stage")
    for pain in pains[pains["kind"] == "drop_off"].to_dict(orient="records"):
        assert pain["evidence"]["entered"] == conversion.loc[pain["stage"], "entered"]
        assert pain["rate"] <= 0.5


def test_the_demo_map_is_json_and_draws(demo_map: JourneyMapResult) -> None:
    text = json.dumps(demo_map.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["kind"] == "journey_map" and len(back["rows"]) == 5
    assert set(back["tables"]) == {"touchpoints", "channels", "actions", "paths", "emotion",
                                   "click_rates", "pain_points"}
    assert from_dict(JourneyMapSpec, back["spec"]) == demo_map.spec
    figure = demo_map.figure()
    assert type(figure).__name__ == "Figure"
    trace = figure.data[0]
    assert list(trace.x) == list(demo_map.frame["name"])
    want = [None if pd.isna(v) else float(v) for v in demo_map.frame["emotion"]]
    assert list(trace.y) == want and any(v is not None for v in want)
    assert list(trace.customdata) == list(demo_map.frame["answers"])


def test_filters_narrow_the_map(demo: DuckDBStore, demo_map: JourneyMapResult) -> None:
    email = run_journey_map(demo, JourneyMapSpec(filters=Filters(channels=("email",))))
    assert set(email.tables["channels"]["channel"]) == {"email"}
    assert email.frame["entered"].sum() < demo_map.frame["entered"].sum()
    first, last = (pd.Timestamp(t).date() for t in demo.sql(
        "SELECT min(timestamp), max(timestamp) FROM events").to_pylist()[0].values())
    middle = first + (last - first) / 2
    early = run_journey_map(demo, JourneyMapSpec(filters=Filters(
        date_range=DateRange(first, middle))))
    late = run_journey_map(demo, JourneyMapSpec(filters=Filters(
        date_range=DateRange(middle + timedelta(days=1), last))))
    total = int(demo_map.frame["events"].sum())
    assert int(early.frame["events"].sum()) + int(late.frame["events"].sum()) == total
    assert 0 < int(early.frame["events"].sum()) < total


def test_a_hebrew_map_has_the_glossary_stage_names(demo: DuckDBStore,
                                                   demo_map: JourneyMapResult) -> None:
    hebrew = run_journey_map(demo, JourneyMapSpec(language="he", top=2))
    # /work/shared/GLOSSARY.md: מודעות, שקילה, רכישה, שימור, סנגור
    assert list(hebrew.frame["name"]) == ["מודעות", "שקילה", "רכישה", "שימור", "סנגור"]
    assert list(hebrew.frame["stage"]) == STAGES  # ids stay the same
    assert hebrew.frame["entered"].tolist() == demo_map.frame["entered"].tolist()
    assert hebrew.summary["language"] == "he"
    assert hebrew.tables["actions"].groupby("stage").size().max() == 2
    drop = hebrew.pain_points[hebrew.pain_points["kind"] == "drop_off"]
    assert all(any(n in t for n in hebrew.frame["name"]) for t in drop["text"])


# -- opportunities -------------------------------------------------------------------------


def test_opportunities_are_saved_updated_shown_and_deleted(demo: DuckDBStore,
                                                          demo_map: JourneyMapResult) -> None:
    pain = demo_map.pain_points.iloc[0]["id"]
    with pytest.raises(ValidationError) as caught:
        save_opportunity(demo, pain, owner="dana")
    assert caught.value.field == "action"
    with pytest.raises(ValidationError) as caught:
        save_opportunity(demo, pain, action="Fix it", status="closed")
    assert caught.value.field == "status"
    with pytest.raises(ValidationError) as caught:
        save_opportunity(demo, pain, action="   ")
    assert caught.value.field == "action"
    try:
        saved = save_opportunity(demo, pain, action=" Fix Safari payments ", owner="dana",
                                 by="noa")
        assert (saved["action"], saved["owner"], saved["status"]) == (
            "Fix Safari payments", "dana", "open")
        moved = save_opportunity(demo, pain, status="in_progress", note="QA has it")
        assert (moved["action"], moved["owner"], moved["status"], moved["note"]) == (
            "Fix Safari payments", "dana", "in_progress", "QA has it")
        cleared = save_opportunity(demo, pain, owner="")
        assert cleared["owner"] is None and cleared["status"] == "in_progress"
        shown = run_journey_map(demo, JourneyMapSpec()).pain_points.set_index("id")
        assert shown.loc[pain, "action"] == "Fix Safari payments"
        assert not shown.loc[pain, "suggested"]
        assert shown.loc[pain, "status"] == "in_progress" and pd.isna(shown.loc[pain, "owner"])
        others = shown.drop(index=pain)
        assert others["suggested"].all()
        # a saved opportunity whose pain point is not found today stays in the store
        save_opportunity(demo, "drop_off:nowhere:never", action="Keep me")
        assert set(saved_opportunities(demo)["pain_point_id"]) == {
            pain, "drop_off:nowhere:never"}
    finally:
        for row in saved_opportunities(demo)["pain_point_id"]:
            delete_opportunity(demo, row)
    with pytest.raises(NotFoundError) as missing:
        delete_opportunity(demo, pain)
    assert missing.value.field == "pain_point_id"
    after = run_journey_map(demo, JourneyMapSpec(top=1)).pain_points.set_index("id")
    assert after.loc[pain, "suggested"] and after.loc[pain, "status"] == "open"


def test_opportunities_survive_export_and_import(tmp_path: Path) -> None:
    assert "journey_opportunities" in EXPORT_TABLES
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "a.duckdb")) as store:
        save_opportunity(store, "checkout_step:purchase:Payment Info Entered",
                         action="Review the payment form", owner="dana", status="done")
        store.export_parquet(tmp_path / "lake")
        before = saved_opportunities(store)
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "b.duckdb")) as copy:
        copy.import_parquet(tmp_path / "lake")
        after = saved_opportunities(copy)
    assert len(after) == 1
    assert after.to_dict(orient="records") == before.to_dict(orient="records")


# -- the spec ------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "field"), [
    ({"top": 0}, "top"),
    ({"top": 51}, "top"),
    ({"min_n": 0}, "min_n"),
    ({"return_days": 1}, "return_days"),  # active again "1 to 1 days" later: never
    ({"checkout": [{"event": "Order Completed"}]}, "checkout"),
    ({"model": "nope"}, "model"),
    ({"language": "fr"}, "language"),
    ({"click_rates": [{"label": "", "impression": {"event": "A"}, "click": {"event": "B"}}]},
     "click_rates[0].label"),
    ({"click_rates": [{"label": "x", "impression": {"event": "A"}, "click": {"event": "B"}},
                      {"label": "x", "impression": {"event": "C"}, "click": {"event": "D"}}]},
     "click_rates"),
])
def test_a_bad_spec_names_its_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        from_dict(JourneyMapSpec, data)
    assert caught.value.field == field, caught.value


def test_an_unknown_model_lists_the_templates() -> None:
    with pytest.raises(ValidationError, match="templates: buyer, default, post_purchase"):
        JourneyMapSpec(model="nope")


@pytest.mark.parametrize(("data", "field"), [
    ({"checkout": [{"event": "Checkout Sarted"}, {"event": "Order Completed"}]},
     "checkout[0].event"),
    ({"problems": [{"event": "Support Ticket Opened"}, {"event": "Complaint"}]},
     "problems[1].event"),
    ({"click_rates": [{"label": "ads", "impression": {"event": "Ad Impression"},
                       "click": {"event": "Ad Clicked"}}]}, "click_rates[0].impression.event"),
    ({"click_rates": [{"label": "mail", "impression": {"event": "Email Delivered"},
                       "click": {"event": "Email Link Clickd"}}]}, "click_rates[0].click.event"),
    ({"top": 0}, "top"),
    ({"model": "nope"}, "model"),
])
def test_running_a_bad_spec_names_its_field(demo: DuckDBStore, data: dict[str, Any],
                                            field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        run_json(demo, "journey_map", data)
    assert caught.value.field == field, caught.value


def test_a_spec_survives_json() -> None:
    spec = JourneyMapSpec(
        language="ar", top=7, checkout=(FunnelStep("Checkout Started"),
                                        FunnelStep("Order Completed")),
        problems=(EventMatcher("Support Ticket Opened"),),
        click_rates=(ClickRate("mail", EventMatcher("Email Delivered"),
                               EventMatcher("Email Link Clicked")),),
        min_n=10, filters=Filters(channels=("email",),
                                  date_range=DateRange(date(2026, 1, 1), date(2026, 3, 31))))
    assert from_dict(JourneyMapSpec, json.loads(json.dumps(to_dict(spec)))) == spec


def test_a_custom_checkout_and_click_rate_are_used(demo: DuckDBStore) -> None:
    result = run_journey_map(demo, JourneyMapSpec(
        checkout=(FunnelStep("Product Added"), FunnelStep("Checkout Started"),
                  FunnelStep("Order Completed")),
        click_rates=(ClickRate("opened", EventMatcher("Email Delivered"),
                               EventMatcher("Email Opened")),)))
    assert result.summary["checkout"] == ["Product Added", "Checkout Started", "Order Completed"]
    assert result.summary["click_rates"] == ["opened"]
    rates = result.tables["click_rates"]
    assert set(rates["rate"]) == {"opened"}
    shown = rates.groupby("stage")["impressions"].sum()
    frame = result.frame.set_index("stage")
    for stage, impressions in shown.items():
        clicks = int(rates.set_index("stage").loc[stage, "clicks"])
        want = clicks / impressions if impressions else None
        have = frame.loc[stage, "ctr"]
        assert (want is None and pd.isna(have)) or have == pytest.approx(want)
    # the checkout starts in Consideration's events, so its pain points sit there
    checkout = result.pain_points[result.pain_points["kind"] == "checkout_abandonment"]
    assert list(checkout["stage"]) == ["consideration"]


# -- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("hits_a", "n_a", "hits_b", "n_b"), [
    (40, 100, 80, 100), (11, 44, 430, 667), (5, 30, 7, 31), (0, 50, 3, 60), (998, 1000, 2, 3),
    (150, 200, 151, 200),
])
def test_p_value_is_the_pooled_two_proportion_z_test(hits_a: int, n_a: int, hits_b: int,
                                                     n_b: int) -> None:
    """The pooled two-proportion z-test (NIST/SEMATECH e-Handbook of Statistical Methods,
    7.3.3, "How can we determine whether two processes produce the same proportion of
    defectives?"): z = (p_a - p_b) / sqrt(p (1 - p) (1/n_a + 1/n_b)), p the pooled share,
    two-sided p = 2 (1 - Phi(|z|)). Its square is Pearson's chi-square of the 2x2 table
    without continuity correction, a second, independent check."""
    pooled = (hits_a + hits_b) / (n_a + n_b)
    z = (hits_a / n_a - hits_b / n_b) / math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    want = 2 * stats.norm.sf(abs(z))
    assert p_value(hits_a, n_a, hits_b, n_b) == pytest.approx(want, rel=1e-9, abs=1e-300)
    table = np.array([[hits_a, n_a - hits_a], [hits_b, n_b - hits_b]])
    chi2 = stats.chi2_contingency(table, correction=False)
    assert p_value(hits_a, n_a, hits_b, n_b) == pytest.approx(chi2.pvalue, rel=1e-6)


def test_p_value_without_a_spread_is_one() -> None:
    assert p_value(0, 0, 5, 10) == 1.0
    assert p_value(0, 10, 0, 20) == 1.0  # nobody passes on either side
    assert p_value(10, 10, 20, 20) == 1.0


@pytest.mark.parametrize(("agent", "family"), [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/18.2 Mobile/15E148 Safari/604.1", "Safari (iOS)"),
    ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Mobile/15E148 Safari/604.1", "Safari (iOS)"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
     " Version/18.2 Safari/605.1.15", "Safari (macOS)"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome (Windows)"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome (Android)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1", "Chrome (iOS)"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
     "Firefox (Windows)"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
     "Firefox (Linux)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) FxiOS/124.0 Mobile/15E148 Safari/605.1.15", "Firefox (iOS)"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge (Windows)"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.0.0", "Edge (Android)"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", "Samsung Internet (Android)"),
    ("curl/8.5.0", "other (other)"),
])
def test_browser_family(agent: str, family: str) -> None:
    assert browser_family(agent) == family


def test_scores_are_scaled_to_minus_one_to_one() -> None:
    survey = np.array(["nps"] * 6 + ["csat"] * 5 + ["ces"] * 3 + ["csat", "nps", "rating"])
    score = np.array([0, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 1, 4, 7, 6, np.nan, 3], dtype="float64")
    low = np.array([0] * 6 + [1] * 5 + [1] * 3 + [1, 0, 1], dtype="float64")
    high = np.array([10] * 6 + [5] * 5 + [7] * 3 + [5, 10, 5], dtype="float64")
    got = normalised(survey, score, low, high)
    # NPS: detractor -1, passive 0, promoter 1 (the mean is NPS / 100)
    assert list(got[:6]) == [-1.0, -1.0, 0.0, 0.0, 1.0, 1.0]
    # CSAT 1..5 -> -1..1 linearly; CES 2.0 1..7 (7 the easiest) likewise
    assert list(got[6:11]) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert list(got[11:14]) == [-1.0, 0.0, 1.0]
    # outside the scale or no score: no value; another scale: linear (rating 3 of 1..5)
    assert np.isnan(got[14]) and np.isnan(got[15]) and got[16] == 0.0
    nps_scores = np.array([10, 9, 9, 8, 7, 6, 3, 10, 9, 0], dtype="float64")
    values = normalised(np.array(["nps"] * 10), nps_scores, np.zeros(10), np.full(10, 10.0))
    assert values.mean() * 100 == pytest.approx(20.0)  # 5 promoters, 3 detractors of 10
    assert np.isnan(normalised(np.array(["csat"]), np.array([3.0]), np.array([5.0]),
                               np.array([5.0])))[0]  # an empty scale
