"""The attribution benchmark's code path at a small size: its synthetic journeys, aggregated
in NumPy, are the paths the engine builds from the same journeys as raw events."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks import attribution_speed as bench
from touchpath.analytics.filters import EventMatcher
from touchpath.analytics.source import TableSource
from touchpath.attribution import AttributionSpec
from touchpath.attribution.query import conversion_paths


def test_aggregated_paths_are_the_journeys_counted() -> None:
    touches, lengths, converted, value = bench.synthesise(3000, 6, seed=3)
    paths = bench.aggregate(touches, lengths, converted, value, channels=6)
    want: Counter[tuple[str, ...]] = Counter()
    for row, won in zip(touches, converted, strict=True):
        want[tuple(f"ch{c:02d}" for c in row if c >= 0), bool(won)] += 1
    got: Counter[tuple[str, ...]] = Counter()
    for i in range(len(paths)):
        got[paths.path(i), True] += int(paths.conversions[i])
        got[paths.path(i), False] += int(paths.nulls[i])
    assert +got == want
    assert paths.total_value == pytest.approx(value.sum())

    source = TableSource(bench.raw_events(touches, lengths, converted, value))
    spec = AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue",
                           touches="event")
    from_engine, _ = conversion_paths(source, spec)
    engine = {from_engine.path(i): (from_engine.conversions[i], from_engine.nulls[i],
                                     round(from_engine.value[i], 6))
              for i in range(len(from_engine))}
    assert engine == {paths.path(i): (paths.conversions[i], paths.nulls[i],
                                      round(paths.value[i], 6)) for i in range(len(paths))}


def test_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(["--journeys", "2000", "--channels", "5", "--repeat", "1", "--bootstrap", "2",
                "--raw-journeys", "500"])
    out = capsys.readouterr().out
    assert "markov order 3" in out and "end to end on 500 journeys" in out
