"""Segments: saved by name, resolved in filters, equal to the segment they name."""

from __future__ import annotations

from typing import Any

import pytest

from touchpath.analytics import (
    DidEvent,
    EventMatcher,
    Filters,
    HasProperties,
    PropertyFilter,
    SavedSegment,
    list_segments,
    load_segment,
    save_segment,
)
from touchpath.analytics.frame import scoped_events
from touchpath.errors import NotFoundError, ValidationError
from touchpath.store.duckdb_store import DuckDBStore


def _persons(store: DuckDBStore, filters: Filters) -> set[str]:
    events = scoped_events(store, filters)
    return set(events.select("person_id").distinct().to_pyarrow()["person_id"].to_pylist())


def test_a_saved_segment_selects_what_its_definition_selects(store: DuckDBStore,
                                                             demo_store: DuckDBStore) -> None:
    repeaters = DidEvent(EventMatcher("Order Completed"), min_count=2)
    save_segment(store, "repeaters", repeaters)
    assert load_segment(store, "repeaters") == repeaters
    assert list_segments(store) == {"repeaters": repeaters}
    direct = _persons(demo_store, Filters(segments=(repeaters,)))
    assert direct, "the demo has repeat buyers"
    everyone = _persons(demo_store, Filters())
    assert direct < everyone


def test_saved_segments_resolve_by_name(store: DuckDBStore, make_rows: Any) -> None:
    store.write(make_rows(
        {"type": "page", "anonymousId": "a1", "messageId": "m1",
         "context": {"campaign": {"source": "newsletter", "medium": "email"}}},
        {"type": "page", "anonymousId": "a2", "messageId": "m2"},
    ))
    email = HasProperties((PropertyFilter("initial_channel", "eq", "email"),))
    save_segment(store, "email", email)
    selected = _persons(store, Filters(segments=(SavedSegment("email"),)))
    assert len(selected) == 1
    assert selected == _persons(store, Filters(segments=(email,)))
    with pytest.raises(NotFoundError):
        _persons(store, Filters(segments=(SavedSegment("nope"),)))
    with pytest.raises(ValidationError):
        save_segment(store, "", email)
    with pytest.raises(ValidationError):
        save_segment(store, "ref", SavedSegment("email"))
