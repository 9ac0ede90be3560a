"""A small hand-written log (golden/events.json) with hand-checked answers next to it
(golden/expected.json, which says how each number was checked)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.analytics.strategies import source_of
from touchpath.analytics.source import TableSource
from touchpath.voice.drivers import DriversSpec, run_drivers
from touchpath.voice.satisfaction import SatisfactionSpec, run_satisfaction

GOLDEN = Path(__file__).parent / "golden"


def _source() -> TableSource:
    rows: list[dict[str, Any]] = json.loads((GOLDEN / "events.json").read_text("utf-8"))
    for i, row in enumerate(rows):
        row["timestamp"] = datetime.fromisoformat(row["timestamp"])
        row["message_id"] = f"g{i:03d}"
    return source_of(rows)


EXPECTED = json.loads((GOLDEN / "expected.json").read_text("utf-8"))


@pytest.mark.parametrize(("metric", "breakdown", "key"), [
    ("nps", "touchpoint", "nps_by_touchpoint"), ("csat", "touchpoint", "csat_by_touchpoint"),
    ("csat_mean", "stage", "csat_mean_by_stage")])
def test_satisfaction(metric: str, breakdown: str, key: str) -> None:
    result = run_satisfaction(_source(), SatisfactionSpec(metric, breakdown=breakdown))
    have = sorted([r[breakdown], round(r["value"], 6), r["n"]]
                  for r in result.frame.to_dict(orient="records"))
    assert have == [[g, pytest.approx(v), n] for g, v, n in EXPECTED[key]]
    if metric in EXPECTED:
        assert [result.summary["value"], result.summary["n"]] == pytest.approx(EXPECTED[metric])


def test_drivers() -> None:
    frame = run_drivers(_source(), DriversSpec("nps", min_answers=1)).frame
    rows = {(r["kind"], r["factor"]): r for r in frame.to_dict(orient="records")}
    for kind, factor, answers, low, high, difference, with_, without in EXPECTED["drivers_nps"]:
        row = rows[(kind, factor)]
        assert (row["answers"], row["share_low"], row["share_high"], row["difference"]) == (
            answers, pytest.approx(low), pytest.approx(high), pytest.approx(difference))
        assert row["metric_with"] == pytest.approx(with_)
        if without is None:  # every answer has it: nobody is left to compare with
            assert math.isnan(row["metric_without"])
        else:
            assert row["metric_without"] == pytest.approx(without)
    # ties on the difference: more answers first, then kind and factor by name
    assert list(zip(frame["kind"][:3], frame["factor"][:3], strict=True)) == [
        ("channel", "help_desk"), ("event", "Support Ticket Opened"),
        ("path", "Order Completed → Support Ticket Opened")]
