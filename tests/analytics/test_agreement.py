"""Numbers from different analyses agree on the same data (docs/counting-rules.md)."""

from __future__ import annotations

from touchpath.analytics import (
    EventMatcher,
    Filters,
    FunnelSpec,
    FunnelStep,
    LifecycleSpec,
    PathsSpec,
    RetentionSpec,
    SessionsSpec,
    StagesSpec,
    run,
)
from touchpath.analytics.frame import scoped_events
from touchpath.store.duckdb_store import DuckDBStore

YEAR = 365 * 86400


def test_entry_counts_agree_across_funnel_paths_and_retention(demo_store: DuckDBStore) -> None:
    viewed = EventMatcher("Product Viewed")
    funnel = run(demo_store, FunnelSpec(steps=(FunnelStep("Product Viewed"),
                                               FunnelStep("Order Completed")),
                                        window_seconds=YEAR))
    paths = run(demo_store, PathsSpec(start=viewed, max_steps=3))
    retention = run(demo_store, RetentionSpec(cohort_event=viewed, period="month", periods=2))
    events = scoped_events(demo_store, Filters())
    viewers = events.filter(events.event == "Product Viewed").person_id.nunique().execute()
    assert viewers > 100
    assert funnel.summary["entered"] == viewers
    assert paths.summary["entities"] == viewers
    assert retention.summary["size"] == viewers


def test_people_agree_across_lifecycle_sessions_and_stages(demo_store: DuckDBStore) -> None:
    people = scoped_events(demo_store, Filters()).person_id.nunique().execute()
    lifecycle = run(demo_store, LifecycleSpec(period="month"))
    sessions = run(demo_store, SessionsSpec(period="month"))
    stages = run(demo_store, StagesSpec())
    assert lifecycle.summary["new"] == people
    assert sessions.summary["people"] == people
    assert stages.summary["people"] == people
    events = scoped_events(demo_store, Filters(), sessions=True)
    assert sessions.summary["sessions"] == events.session_id.nunique().execute()
