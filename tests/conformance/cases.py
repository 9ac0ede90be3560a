"""What the conformance suite runs on both engines: every registered analysis' example spec
(``tests/analytics/examples.py`` plus the other packages' analyses), and option variants of the
funnels, paths, retention, stages, lifecycle and sessions.

``UNSUPPORTED`` marks a case an engine cannot run, with the reason: the suite then demands a
:class:`QueryError` naming the engine (never a number). It is empty today: every case runs on
Spark with the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.analytics.examples import EXAMPLES

STEPS = [{"event": "Product Viewed"}, {"event": "Product Added"},
         {"event": "Checkout Started"}, {"event": "Order Completed"}]
WEEK = 7 * 86400

DEMO_ONLY = {
    "satisfaction": "the small log has no survey answers",
    "drivers": "the small log has no survey answers",
    "themes": "the small log has no survey comments",
    "clv": "the example's calibration_end lies after the small log's last day",
}
"""Examples that need the demo's data; they run on the demo only."""

TOLERANCE = {
    "clv": 1e-5,
}
"""Relative tolerance of floats per analysis (default 1e-9). CLV fits a model by iterative
optimisation: revenue summed in another order (last-bit noise) moves the optimum by ~1e-7."""


@dataclass(frozen=True)
class Case:
    id: str
    analysis: str
    spec: dict[str, Any]
    datasets: tuple[str, ...] = ("small",)
    unsupported: dict[str, str] = field(default_factory=dict)  # engine -> reason


VARIANTS = [
    Case("funnel-strict", "funnel", {"steps": STEPS[:3], "order": "strict",
                                     "window_seconds": WEEK}),
    Case("funnel-any-order", "funnel", {"steps": STEPS[:3], "order": "any",
                                        "window_seconds": 86400}),
    Case("funnel-step-window", "funnel", {"steps": [STEPS[0], {**STEPS[1], "within_seconds": 3600},
                                                    STEPS[3]], "window_seconds": WEEK}),
    Case("funnel-exclusion", "funnel", {"steps": STEPS[:3], "exclusions": [
        {"event": "Support Ticket", "from_step": 1, "to_step": 3}]}),
    Case("funnel-sessions-every", "funnel", {"steps": STEPS[:2], "count_by": "sessions",
                                             "conversions": "every"}),
    Case("funnel-hold-constant", "funnel", {"steps": STEPS[:2], "count_by": "property",
                                            "hold_constant": "properties.plan"}),
    Case("funnel-breakdown-event", "funnel", {"steps": STEPS[:3], "breakdown": {
        "property": "channel", "source": "event", "attribution": "last_step"}}),
    Case("funnel-trend-dropoff", "funnel", {"steps": STEPS[:3], "trend": "week",
                                            "drop_off": True}),
    Case("funnel-where-filters", "funnel", {
        "steps": [{"event": "Product Viewed", "where": [
            {"property": "properties.plan", "op": "eq", "value": "pro"}]}, STEPS[1]],
        "filters": {"channels": ["email", "direct"], "person_where": [
            {"property": "tier", "op": "eq", "value": "gold"}]}}),
    Case("funnel-filter-ops", "funnel", {"steps": STEPS[:2], "filters": {"where": [
        {"property": "properties.plan", "op": "in", "value": ["pro", "free", 1]},
        {"property": "utm_campaign", "op": "regex", "value": "^s(pr|um)"},
        {"property": "channel", "op": "contains", "value": "a"},
        {"property": "properties.n", "op": "gte", "value": 1}]}}),
    Case("funnel-segment", "funnel", {"steps": STEPS[:2], "filters": {"segments": [
        {"kind": "behaviour", "event": {"event": "Support Ticket"}}]}}),
    # twenty steps: Spark's analyzer needs more than its default 100 rounds for this plan
    Case("funnel-20-steps", "funnel", {"steps": (STEPS * 5)[:20], "window_seconds": 86400}),
    Case("paths-per-session", "paths", {"per": "session", "max_steps": 4}),
    Case("paths-between", "paths", {"start": {"event": "Product Viewed"},
                                    "end": {"event": "Order Completed"}, "max_steps": 5}),
    Case("paths-end-last-raw", "paths", {"end": {"event": "Checkout Started"},
                                         "occurrence": "last", "collapse_repeats": False}),
    Case("retention-recurring", "retention", {"period": "week", "periods": 6,
                                              "recurring": True}),
    Case("retention-rolling", "retention", {"cohort_event": {"event": "Product Viewed"},
                                            "return_event": {"event": "Product Added"},
                                            "period": "day", "periods": 10,
                                            "windows": "rolling"}),
    Case("retention-revenue", "retention", {"cohort_event": {"event": "Product Viewed"},
                                            "period": "week", "measure": "revenue"}),
    Case("stages-week", "stages", {"period": "week"}),
    Case("lifecycle-active-event", "lifecycle", {"active_event": {"event": "Product Viewed"},
                                                 "period": "week"}),
    Case("journey-map-post-purchase", "journey_map", {"model": "post_purchase", "language": "ar",
                                                     "top": 2}),
    Case("journey-map-buyer-channel", "journey_map", {"model": "buyer", "filters": {
        "channels": ["email", "direct"]}}),
    Case("sessions-timeout", "sessions", {"timeout_seconds": 600, "split_on_campaign": True,
                                          "period": "week"}),
    # calendar days of a time zone (DuckDB's ICU timezone() vs Spark's from_utc_timestamp)
    Case("retention-time-zone", "retention", {"period": "day", "periods": 10, "filters": {
        "timezone": "Asia/Jerusalem"}}),
    Case("funnel-trend-time-zone", "funnel", {"steps": STEPS[:2], "trend": "day", "filters": {
        "timezone": "America/New_York", "date_range": {"start": "2026-01-05"}}}),
    Case("stages-time-zone", "stages", {"period": "day", "as_of": "2026-02-01", "filters": {
        "timezone": "Asia/Kathmandu"}}),
]


def all_cases() -> list[Case]:
    """Every registered analysis' example (on both logs, or on the demo where it needs the
    demo's data) and the option variants on the small tie-heavy log."""
    import touchpath  # noqa: F401 - registers every analysis

    cases = [Case(name, name, spec, ("demo",) if name in DEMO_ONLY else ("small", "demo"))
             for name, spec in EXAMPLES.items()]
    return cases + VARIANTS
