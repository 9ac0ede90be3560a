"""The conformance suite: every analysis on DuckDB and on Spark (local[2]) over the same Parquet
files must answer the same rows, summary and tables. Rows are compared as sets (engines may
return ties in any order); floats to a relative 1e-9 (sums in another order differ in the last
bits; CLV's fitted model to 1e-5, see ``cases.TOLERANCE``). A case an engine cannot run is
marked in ``cases.py`` with the reason, and there the suite demands a QueryError naming the
engine instead of a number.

Run: ``.venv/bin/pytest tests/conformance -q`` (about 4-5 minutes on 2 busy cores; skipped with
the reason when PySpark or Java is missing unless REQUIRE_SPARK_TESTS=1).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import orjson
import pytest

from touchpath.analytics.registry import ANALYSES, register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.errors import QueryError, ValidationError
from touchpath.store.spark import run_timed

from .cases import TOLERANCE, Case, all_cases

# PySpark 4.0's toPandas passes pandas 3 a deprecated ``copy=`` keyword, and its collect leaves
# the result socket to the garbage collector: warnings inside PySpark, not in touchpath.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"),
]

CASES = all_cases()
PARAMS = [pytest.param(case, dataset, id=f"{case.id}[{dataset}]")
          for case in CASES for dataset in case.datasets]


def canonical(value: Any) -> Any:
    """A comparable, JSON-like form (NaN as None, dates as ISO text)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def answer(result: AnalysisResult) -> dict[str, Any]:
    """The result's JSON form with the rows of the frame and of every table sorted."""
    data = canonical(orjson.loads(orjson.dumps(result.to_dict(persons=True),
                                               option=orjson.OPT_SERIALIZE_NUMPY)))
    data["rows"] = sorted(data["rows"], key=_key)
    data["tables"] = {name: sorted(rows, key=_key) if isinstance(rows, list) else rows
                      for name, rows in data["tables"].items()}
    return dict(data)


def _key(row: Any) -> str:
    """A sort key that float noise does not move (6 significant digits)."""
    return orjson.dumps(_rounded(row), option=orjson.OPT_SORT_KEYS).decode()


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def assert_close(have: Any, want: Any, rel: float, path: str = "") -> None:
    """Equal, floats within ``rel`` (relative, or absolute near zero)."""
    if isinstance(want, float) or isinstance(have, float):
        assert isinstance(have, int | float) and isinstance(want, int | float), (path, have, want)
        assert have == pytest.approx(want, rel=rel, abs=rel), (path, have, want)
    elif isinstance(want, dict):
        assert isinstance(have, dict) and set(have) == set(want), (path, have, want)
        for key in want:
            assert_close(have[key], want[key], rel, f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(have, list) and len(have) == len(want), (path, have, want)
        for i, (h, w) in enumerate(zip(have, want, strict=True)):
            assert_close(h, w, rel, f"{path}[{i}]")
    else:
        assert have == want, (path, have, want)


def test_every_registered_analysis_is_in_the_suite() -> None:
    covered = {case.analysis for case in CASES}
    assert set(ANALYSES) <= covered, sorted(set(ANALYSES) - covered)


@pytest.mark.parametrize(("case", "dataset"), PARAMS)
def test_spark_answers_as_duckdb(case: Case, dataset: str,
                                 duckdb_sources: dict[str, EventSource],
                                 spark_sources: dict[str, EventSource]) -> None:
    expected = run_timed(duckdb_sources[dataset], case.analysis, case.spec)
    assert expected.engine == "duckdb"
    if "spark" in case.unsupported:
        with pytest.raises(QueryError, match="spark engine cannot run"):
            run_timed(spark_sources[dataset], case.analysis, case.spec)
        return
    got = run_timed(spark_sources[dataset], case.analysis, case.spec)
    assert got.engine == "spark"
    want, have = answer(expected.result), answer(got.result)
    assert have["rows"], "an empty answer proves nothing: pick a spec with rows"
    rel = TOLERANCE.get(case.analysis, 1e-9)
    assert_close(have["summary"], want["summary"], rel, "summary")
    assert_close(have["rows"], want["rows"], rel, "rows")
    assert_close(have["tables"], want["tables"], rel, "tables")


@pytest.fixture
def ordered_collect_analysis() -> Any:
    """An analysis using an operation Ibis' PySpark backend refuses (an ordered collect)."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class OrderedSpec:
        pass

    def run_ordered(source: EventSource, spec: OrderedSpec) -> AnalysisResult:
        events = source.table("events")
        paths = events.group_by("person_id").aggregate(
            path=events.event.collect(order_by=[events.timestamp]))
        return AnalysisResult(spec, paths.to_pandas(), {})

    register("_conformance_ordered", OrderedSpec, "test only")(run_ordered)
    yield "_conformance_ordered"
    del ANALYSES["_conformance_ordered"]


def test_an_operation_spark_cannot_run_is_a_query_error_naming_the_engine(
        ordered_collect_analysis: str, duckdb_sources: dict[str, EventSource],
        spark_sources: dict[str, EventSource]) -> None:
    assert len(run_timed(duckdb_sources["small"], ordered_collect_analysis, {}).result.frame)
    with pytest.raises(QueryError,
                       match="the spark engine cannot run '_conformance_ordered'") as err:
        run_timed(spark_sources["small"], ordered_collect_analysis, {})
    assert err.value.field == "engine"
    assert "order" in str(err.value)


def test_spark_reads_event_names_once_and_still_refuses_an_unknown_one(
        spark_sources: dict[str, EventSource]) -> None:
    source = spark_sources["small"]
    names = source.known_events()  # type: ignore[attr-defined]
    assert names and source.known_events() is names  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="unknown event 'Nope'") as caught:
        run_timed(source, "funnel", {"steps": [{"event": next(iter(sorted(names)))},
                                               {"event": "Nope"}]})
    assert caught.value.field == "steps[1].event"
