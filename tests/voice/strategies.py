"""Random logs with survey answers for the property tests: the analytics strategy's background
events plus ``Survey Answered`` events of every survey type, some with a missing, non-numeric,
off-scale score or another scale."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from tests.analytics.strategies import CHANNELS, PERSONS, START, event_rows

SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}
STAGES = ("Loyalty", "Retention", "Purchase", None)
TOUCHPOINTS = ("post_purchase", "support_ticket", "delivery")
LANGUAGES = ("en", "he", "ar")


@st.composite
def answer(draw: st.DrawFn, i: int) -> dict[str, Any]:
    survey = draw(st.sampled_from(tuple(SURVEY_SCALES)))
    low, high = SURVEY_SCALES[survey]
    score: Any = draw(st.one_of(
        st.integers(min_value=low, max_value=high),
        st.integers(min_value=low, max_value=high),
        st.sampled_from((None, "x", high + 1, str(high)))))
    properties: dict[str, Any] = {"survey": survey,
                                  "survey_id": draw(st.sampled_from(("s1", "s2", "s3")))}
    if score is not None:
        properties["score"] = score
    scale = draw(st.sampled_from(("default", "given", "given", "other")))
    if scale == "given":
        properties["scale_min"], properties["scale_max"] = low, high
    elif scale == "other":
        properties["scale_max"] = high + 2
    for key, options in (("stage", STAGES), ("touchpoint", TOUCHPOINTS),
                         ("language", LANGUAGES)):
        value = draw(st.sampled_from(options))
        if value is not None:
            properties[key] = value
    return {
        "message_id": f"s{i:05d}",
        "person_id": draw(st.sampled_from(PERSONS)),
        "event": "Survey Answered",
        "timestamp": START + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 4))),
        "channel": draw(st.sampled_from(CHANNELS)),
        "properties": properties,
        "traits": draw(st.sampled_from((None, {"tier": "gold"}, {"tier": "silver"}))),
    }


@st.composite
def answer_rows(draw: st.DrawFn, max_answers: int = 40) -> list[dict[str, Any]]:
    """Background events (``A``..``D``, ``$page``) and up to ``max_answers`` answers."""
    rows = draw(event_rows(max_events=30, minutes=4 * 24 * 60))
    n = draw(st.integers(min_value=0, max_value=max_answers))
    return rows + [draw(answer(i)) for i in range(n)]
