"""Analytics speed: each analysis against a raw-scan floor, and against peers from one Parquet file.

    python -m benchmarks.run analytics --events 10000000
    python -m benchmarks.analytics_speed --events 1000000 --cases funnel4,funnel20
    python -m benchmarks.analytics_speed --events 10000000 --copies 5 --no-peers  # 50M events

Data: the demo business (``touchpath demo``) at the number of people that gives about
``--events`` stored events, loaded with the product's own path (``load_demo``: the write path
with identity stitching, then the offline files through the importer) into a DuckDB store,
and the store's ``events`` table written to one Parquet file. Both are cached under
``benchmarks/.cache/`` (gitignored) and reused by later runs of the same size.

Every measurement runs in a fresh subprocess, so that peak memory (``ru_maxrss`` of that
process: Python, Ibis and DuckDB together) belongs to one case only; the time of a case is the
best of ``--repeat`` runs inside its process.
- floor: ``count(*)`` and ``count(distinct person_id)`` over the store's events, through Ibis
  on the same DuckDB engine, in the same run;
- cases: each analysis as a spec run by ``touchpath.analytics.run(store, spec)``;
- peers, end to end from the same Parquet file (loading included, imports not): touchpath
  (``TableSource.from_parquet`` + the funnel and the step matrix), a straightforward pandas
  implementation (``benchmarks/peers/pandas_peer.py``) and retentioneering 5 in its own venv
  (``benchmarks/peers/retentioneering_runner.py``); the funnel answers are printed side by side.

Targets from the issue: each analysis <= 3x the floor, the 20-step funnel <= 2x the 4-step,
peak memory < 4 GB at 50M events, >= 10x faster than the peers end to end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
RETE_PYTHON = CACHE / "venv-rete" / "bin" / "python"
RETE_RUNNER = ROOT / "benchmarks" / "peers" / "retentioneering_runner.py"

STORED_EVENTS_PER_PERSON = 11.9
"""Stored events per demo person: ~11.35 online touchpoints + ~0.5 offline rows (POS receipts,
returns, tickets); measured at 200,000 people (2,377,642 events)."""

FUNNEL4 = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
BROWSE = ("$page", "Product Viewed", "Product Added", "Cart Viewed", "Checkout Started")
FUNNEL20 = BROWSE * 4
"""Twenty steps that stay populated (a browse-to-checkout loop four times over), so the later
steps cost what the first ones do instead of running on an almost empty set."""
WINDOW = timedelta(days=7)
NO_WINDOW = timedelta(days=400)
"""Longer than the demo's 180 days: the window retentioneering's funnel (which has none) has."""
MATRIX_STEPS = 10

TIMEOUT_SECONDS = 900
"""A measurement still running after this long is stopped and reported as such."""
TARGET_FLOOR_RATIO = 3.0
TARGET_STEPS_RATIO = 2.0
TARGET_PEAK_MB = 4096  # at 50M events
TARGET_PEER_RATIO = 10.0


# -- the cases ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One analysis: ``spec()`` builds its spec, ``answer(result)`` keeps the few numbers
    printed next to the time."""

    name: str
    title: str
    spec: Callable[[], Any]
    answer: Callable[[Any], Any]


def _funnel_spec(steps: tuple[str, ...], window: timedelta) -> Any:
    from touchpath.analytics.funnels import FunnelSpec, FunnelStep  # type: ignore[attr-defined]

    return FunnelSpec(steps=tuple(FunnelStep(s) for s in steps),
                      window_seconds=int(window.total_seconds()))


def _funnel_counts(result: Any) -> list[int]:
    return [int(n) for n in result.counts()]


def _paths_spec() -> Any:
    from touchpath.analytics.paths import PathsSpec  # type: ignore[attr-defined]

    return PathsSpec(max_steps=5, top=20)


def _paths_answer(result: Any) -> Any:
    top = result.frame.iloc[0] if not result.frame.empty else None
    return {"entities": result.summary["entities"],
            "distinct_paths": result.summary["distinct_paths"],
            "top": None if top is None else f"{top['path']} ({int(top['count'])})"}


def _step_matrix_spec() -> Any:
    """The paths analysis as retentioneering's step matrix: every event, from each person's
    first, no collapsing of repeats."""
    from touchpath.analytics.paths import PathsSpec  # type: ignore[attr-defined]

    return PathsSpec(max_steps=MATRIX_STEPS, top=1, collapse_repeats=False)


def _step_matrix_counts(result: Any) -> dict[str, list[int]]:
    """People per event at steps 1..MATRIX_STEPS (the result holds shares of the entities)."""
    entities = int(result.summary["entities"])
    table = result.tables["step_matrix"].set_index("event")
    return {str(event): [round(float(row[k]) * entities) for k in range(1, MATRIX_STEPS + 1)]
            for event, row in table.iterrows() if event != "(end)"}


def _retention_spec() -> Any:
    from touchpath.analytics.retention import RetentionSpec  # type: ignore[attr-defined]

    return RetentionSpec(period="week", periods=12)


def _retention_answer(result: Any) -> Any:
    weeks = result.summary.get("retention")
    return {"cohorts": len(result.frame),
            "weeks_1_4": [round(float(w), 3) for w in list(weeks)[1:5]] if weeks else None}


def _stages_spec() -> Any:
    from touchpath.analytics.stages import StagesSpec  # type: ignore[attr-defined]

    return StagesSpec(model="default", period="week")


def _stages_answer(result: Any) -> Any:
    return {"people_in_stages": result.summary.get("people_in_stages"),
            "now": {str(r["stage"]): int(r["people"]) for _, r in result.frame.iterrows()}}


def _lifecycle_spec() -> Any:
    from touchpath.analytics.lifecycle import LifecycleSpec  # type: ignore[import-not-found]

    return LifecycleSpec(period="week")


def _lifecycle_answer(result: Any) -> Any:
    last = result.frame.iloc[-2] if len(result.frame) > 1 else None  # the last complete week
    keep = ("new", "returning", "resurrecting", "dormant")
    return {"weeks": len(result.frame),
            "week_before_last": None if last is None else {k: int(last[k]) for k in keep}}


def _sessions_spec() -> Any:
    from touchpath.analytics.sessions import SessionsSpec  # type: ignore[import-not-found]

    return SessionsSpec()


def _sessions_answer(result: Any) -> Any:
    keep = ("sessions", "people", "bounce_rate", "median_length_seconds")
    return {k: v for k, v in result.summary.items() if k in keep} or result.summary


CASES: dict[str, Case] = {case.name: case for case in [
    Case("funnel4", "4-step funnel, 7-day window",
         lambda: _funnel_spec(FUNNEL4, WINDOW), _funnel_counts),
    Case("funnel20", "20-step funnel, 7-day window",
         lambda: _funnel_spec(FUNNEL20, WINDOW), _funnel_counts),
    Case("paths5", "top paths of length 5", _paths_spec, _paths_answer),
    Case("retention", "weekly retention", _retention_spec, _retention_answer),
    Case("stages", "stage lifecycle (stages, default template)", _stages_spec,
         _stages_answer),
    Case("lifecycle", "weekly lifecycle (new/returning/...)", _lifecycle_spec,
         _lifecycle_answer),
    Case("sessions", "sessions (30-minute timeout, per day)", _sessions_spec,
         _sessions_answer),
]}


# -- the data ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    directory: Path

    @property
    def store(self) -> Path:
        return self.directory / "store.duckdb"

    @property
    def parquet(self) -> Path:
        return self.directory / "events.parquet"

    @property
    def info(self) -> dict[str, Any]:
        return dict(json.loads((self.directory / "info.json").read_text()))


def people_for_events(events: int) -> int:
    return max(1, round(events / STORED_EVENTS_PER_PERSON))


def dataset(events: int, seed: int = 7) -> Dataset:
    """The cached demo store and Parquet file for about ``events`` events (made if missing)."""
    people = people_for_events(events)
    data = Dataset(CACHE / f"demo-{people}p-seed{seed}")
    if not (data.directory / "info.json").exists():
        print(f"generating the demo for {people:,} people (about {events:,} events) into "
              f"{data.directory} ...", flush=True)
        made = child("prepare", data, extra=["--people", str(people), "--seed", str(seed)],
                     timeout=4 * 3600)
        if "missing" in made:
            sys.exit(f"could not make the data: {made['missing']}")
    return data


COPIED_IDS = ("person_id", "message_id", "anonymous_id", "user_id", "session_id")


def copied(data: Dataset, k: int) -> Dataset:
    """``data``'s store ``k`` times over as disjoint populations, for sizes the demo generator
    cannot make in memory (50M events from the 10M store): copy ``j`` of every event has ``~j``
    appended to each of :data:`COPIED_IDS`, so every count is ``k`` times the original's. Made
    once, next to ``data``; only the events table is copied (the cases read nothing else) and
    no Parquet file is written (the peers run on the original data)."""
    if k == 1:
        return data
    out = _copies_of(data, k)
    if not (out.directory / "info.json").exists():
        # in a child, like every step that holds much memory: a process started later by
        # this one would report this one's peak as its own (ru_maxrss survives fork and exec)
        made = child("copy", data, ["--copies", str(k)], timeout=3600)
        if "missing" in made:
            sys.exit(f"could not copy the data: {made['missing']}")
    return out


def _copies_of(data: Dataset, k: int) -> Dataset:
    return Dataset(data.directory.with_name(f"{data.directory.name}-x{k}"))


def make_copies(data: Dataset, k: int) -> dict[str, Any]:
    """The work of :func:`copied`, in the process that measures its peak memory."""
    import duckdb

    out = _copies_of(data, k)
    out.directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    partial = out.store.with_suffix(".partial")
    shutil.copyfile(data.store, partial)
    renamed = ", ".join(f"{c} || '~' || c.j AS {c}" for c in COPIED_IDS)
    with duckdb.connect(str(partial)) as con:
        con.execute(f"SET memory_limit = '{os.environ.get(MEMORY_LIMIT_VARIABLE) or '8GB'}'")
        # one statement: it reads the events as they were before it, so copies never compound
        con.execute(f"INSERT INTO events SELECT e.* REPLACE ({renamed}) "
                    f"FROM events e, range(1, {k}) c(j)")
        events, persons = con.execute(
            "SELECT count(*), count(DISTINCT person_id) FROM events").fetchone() or (0, 0)
    partial.rename(out.store)
    info = {**data.info, "events": events, "persons": persons, "copies": k,
            "load_seconds": round(time.perf_counter() - started, 1), "rss_mb": _rss_mb()}
    (out.directory / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def prepare(data: Dataset, people: int, seed: int) -> dict[str, Any]:
    from touchpath.config import load_settings
    from touchpath.demo.load import load_demo
    from touchpath.store.duckdb_store import DuckDBStore

    data.directory.mkdir(parents=True, exist_ok=True)
    for stale in (data.store, data.store.with_suffix(".duckdb.wal"), data.parquet):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    with DuckDBStore(load_settings(env={}, store_path=data.store)) as store:
        report = load_demo(store, size=str(people), seed=seed)
        loaded = time.perf_counter() - started
        with store.session() as con:
            con.execute(f"COPY (SELECT * FROM events) TO '{data.parquet}' "
                        "(FORMAT parquet, COMPRESSION zstd)")
        events, persons = store.sql(
            "SELECT count(*), count(DISTINCT person_id) FROM events").to_pylist()[0].values()
    info = {"people": people, "seed": seed, "events": events, "persons": persons,
            "load_seconds": round(loaded, 1), "report": report,
            "rss_mb": _rss_mb()}
    (data.directory / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def maintain(data: Dataset) -> dict[str, Any]:
    """Bring the store's derived columns up to date (``refresh_sessions`` and any other
    ``refresh_*`` the store has, and the stored stage changes of the stages case's model):
    the work the product does once after writes, so that the cases measure queries, not a
    first query paying for the whole store. Timed and printed."""
    from touchpath.analytics.stages import stage_changes  # type: ignore[import-not-found]

    store = _open_store(data)
    done: dict[str, Any] = {}
    for name in sorted(n for n in dir(store) if n.startswith("refresh_")):
        started = time.perf_counter()
        changed = getattr(store, name)()
        done[name] = {"seconds": round(time.perf_counter() - started, 2), "changed": changed}
    if hasattr(store, "stored_stage_changes"):  # the stages case's model, stored once
        started = time.perf_counter()
        stage_changes(store, _stages_spec())
        done["stored_stage_changes"] = {"seconds": round(time.perf_counter() - started, 2)}
    store.close()
    return done


# -- measurements (each in its own process) ----------------------------------------------------

def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


REPEAT_BUDGET_SECONDS = 30.0
"""Repeats stop once a case has used this long (a slow case is measured once)."""


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    times: list[float] = []
    answer = None
    while len(times) < max(repeat, 1) and sum(times) < REPEAT_BUDGET_SECONDS:
        started = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - started)
    return min(times), times, answer


def _scan(store: Any) -> list[int]:
    events = store.table("events")
    row = events.aggregate(events=events.count(), persons=events.person_id.nunique())
    return [int(v) for v in row.to_pyarrow().to_pylist()[0].values()]


def measure_floor(data: Dataset, repeat: int) -> dict[str, Any]:
    store = _open_store(data)
    _scan(store)  # warm-up, as in every case: the first query of a process is not measured
    before = _rss_mb()
    seconds, times, answer = _best(lambda: _scan(store), repeat)
    return {"seconds": seconds, "times": times, "answer": answer, "rss_mb": _rss_mb(),
            "rss_before_mb": before}


def measure_case(data: Dataset, name: str, repeat: int) -> dict[str, Any]:
    case = CASES[name]
    spec = case.spec()
    from touchpath.analytics import run

    store = _open_store(data)
    _scan(store)  # the same warm-up as the floor's
    before = _rss_mb()
    seconds, times, result = _best(lambda: run(store, spec), repeat)
    return {"seconds": seconds, "times": times, "answer": case.answer(result),
            "rss_mb": _rss_mb(), "rss_before_mb": before}


def _open_store(data: Dataset) -> Any:
    from touchpath.config import load_settings
    from touchpath.store.duckdb_store import DuckDBStore

    zone = os.environ.get(TIMEZONE_VARIABLE) or "UTC"
    store = DuckDBStore(load_settings(env={}, store_path=data.store, timezone=zone))
    _limit_memory(store)
    return store


MEMORY_LIMIT_VARIABLE = "BENCH_DUCKDB_MEMORY_LIMIT"
TIMEZONE_VARIABLE = "BENCH_TIMEZONE"


def _limit_memory(source: Any) -> None:
    """DuckDB's memory_limit for this process (the parent's ``--memory-limit``): DuckDB takes
    80% of RAM by default, and the machine is shared. Beyond it DuckDB spills or fails; either
    is reported, and the target (4 GB) is far below it."""
    limit = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if limit:
        source.table("events").get_backend().raw_sql(f"SET memory_limit = '{limit}'")


class ParquetView:
    """An event source over the Parquet file that loads nothing up front: a DuckDB view that
    each query reads (only the columns it needs). Used instead of ``TableSource.from_parquet``
    above ``--table-source-max-events``, because that one holds every column in memory twice
    (Arrow, then DuckDB): 1.7 GB of RSS at 1M events, too much at 10M on a shared machine."""

    def __init__(self, path: Path) -> None:
        import duckdb
        import ibis

        self._connection = duckdb.connect()
        self._connection.execute(
            f"CREATE VIEW events AS SELECT * FROM read_parquet('{path}')")
        self._backend = ibis.duckdb.from_connection(self._connection)

    def table(self, name: str = "events") -> Any:
        return self._backend.table(name)


def measure_touchpath_parquet(data: Dataset, how: str = "table") -> dict[str, Any]:
    """Read the Parquet file into an in-memory source (``how="table"``: the product's
    ``TableSource.from_parquet``) or open it as a view (``"view"``), run the funnel and the step
    matrix."""
    from touchpath.analytics import TableSource, run

    funnel = _funnel_spec(FUNNEL4, WINDOW)
    matrix = _step_matrix_spec()
    started = time.perf_counter()
    source: Any = (TableSource.from_parquet(data.parquet) if how == "table"
                   else ParquetView(data.parquet))
    _limit_memory(source)
    loaded = time.perf_counter()
    counts = _funnel_counts(run(source, funnel))
    funneled = time.perf_counter()
    steps = _step_matrix_counts(run(source, matrix))
    done = time.perf_counter()
    no_window = _funnel_counts(run(source, _funnel_spec(FUNNEL4, NO_WINDOW)))
    return {"load": loaded - started, "funnel": funneled - loaded,
            "step_matrix": done - funneled, "seconds": done - started,
            "rss_mb": _rss_mb(), "source": how,
            "answer": {"funnel": counts, "funnel_no_window": no_window, "step_matrix": steps}}


def measure_pandas(data: Dataset) -> dict[str, Any]:
    from benchmarks.peers import pandas_peer

    started = time.perf_counter()
    frame = pandas_peer.load(data.parquet)
    loaded = time.perf_counter()
    counts = pandas_peer.funnel(frame, list(FUNNEL4), WINDOW)
    funneled = time.perf_counter()
    matrix = pandas_peer.step_matrix(frame, MATRIX_STEPS)
    done = time.perf_counter()
    return {"load": loaded - started, "funnel": funneled - loaded,
            "step_matrix": done - funneled, "seconds": done - started, "rss_mb": _rss_mb(),
            "answer": {"funnel": counts,
                       "funnel_no_window": pandas_peer.funnel(frame, list(FUNNEL4), None),
                       "step_matrix": {str(e): [int(v) for v in row]
                                       for e, row in matrix.iterrows()}}}


def measure_retentioneering(data: Dataset, timeout: float = TIMEOUT_SECONDS
                            ) -> dict[str, Any]:
    if not RETE_PYTHON.exists():
        return {"missing": f"no retentioneering venv at {RETE_PYTHON} (see benchmarks/README.md)"}
    try:
        out = subprocess.run(
            [str(RETE_PYTHON), str(RETE_RUNNER), "--parquet", str(data.parquet),
             "--steps", ",".join(FUNNEL4), "--max-steps", str(MATRIX_STEPS)],
            capture_output=True, text=True, cwd=ROOT, check=False, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"missing": f"did not finish in {timeout:.0f} s (stopped)"}
    if out.returncode != 0:
        return {"missing": "retentioneering failed: " + out.stderr.strip().splitlines()[-1]}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def child(kind: str, data: Dataset, extra: list[str] | None = None,
          timeout: float | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its last stdout line is the JSON answer."""
    command = [sys.executable, "-m", "benchmarks.analytics_speed", "--child", kind,
               "--data", str(data.directory), *(extra or [])]
    limit = TIMEOUT_SECONDS if timeout is None else timeout
    try:
        out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False,
                             timeout=limit)
    except subprocess.TimeoutExpired:
        return {"missing": f"did not finish in {limit:.0f} s (stopped)"}
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"missing": f"failed: {tail}"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _child_main(args: argparse.Namespace) -> None:
    data = Dataset(Path(args.data))
    kind = args.child
    if kind == "prepare":
        answer = prepare(data, args.people, args.seed)
    elif kind == "copy":
        answer = make_copies(data, args.copies)
    elif kind == "maintain":
        answer = maintain(data)
    elif kind == "floor":
        answer = measure_floor(data, args.repeat)
    elif kind == "parquet-touchpath":
        answer = measure_touchpath_parquet(data, args.parquet_source)
    elif kind == "parquet-pandas":
        answer = measure_pandas(data)
    else:
        answer = measure_case(data, kind, args.repeat)
    print(json.dumps(answer, default=str))


# -- the report --------------------------------------------------------------------------------

def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def run_benchmark(events: int, cases: list[str], repeat: int, peers: bool,
                  timeout: float = TIMEOUT_SECONDS,
                  table_source_max: int = 2_000_000, copies: int = 1) -> dict[str, Any]:
    data = copied(dataset(events), copies)
    info = data.info
    made = (f"the store copied {copies} times over as disjoint populations in"
            if copies > 1 else "generated and loaded in")
    print(f"data: {info['events']:,} events, {info['persons']:,} persons "
          f"({info['people']:,} demo people, seed {info['seed']}; {made} "
          f"{info['load_seconds']} s, peak {info['rss_mb']:,.0f} MB) in {data.directory}",
          flush=True)
    maintained = child("maintain", data, timeout=4 * 3600)
    for name, done in maintained.items():
        print(f"store maintenance: {name}: {done}", flush=True)
    floor = child("floor", data, ["--repeat", str(repeat)], timeout)
    base = floor["seconds"]
    print(f"\n{'case':12} {'what':42} {'seconds':>8} {'vs floor':>9} {'peak MB':>8}  answer")
    print(f"{'floor':12} {'count(*), count(distinct person_id)':42} {base:8.3f} {1:8.2f}x "
          f"{floor['rss_mb']:8,.0f}  {floor['answer']}", flush=True)
    results: dict[str, Any] = {"data": info, "maintenance": maintained, "floor": floor,
                               "cases": {}, "peers": {}}
    for name in cases:
        measured = child(name, data, ["--repeat", str(repeat)], timeout)
        results["cases"][name] = measured
        title = CASES[name].title
        if "missing" in measured:
            print(f"{name:12} {title:42} {measured['missing']}", flush=True)
            continue
        ratio = measured["seconds"] / base
        measured["ratio"] = ratio
        print(f"{name:12} {title:42} {measured['seconds']:8.3f} {ratio:8.2f}x "
              f"{measured['rss_mb']:8,.0f}  {_short(measured['answer'])}", flush=True)
    _targets(results["cases"], info["events"])
    if peers:
        results["peers"] = _peers(data, timeout, table_source_max)
    return results


def _short(answer: Any, limit: int = 90) -> str:
    text = json.dumps(answer, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _targets(cases: dict[str, Any], events: int) -> None:
    print("\ntargets:")
    for name, measured in cases.items():
        if "ratio" in measured:
            print(f"  {name:12} <= {TARGET_FLOOR_RATIO:.0f}x floor: "
                  f"{_verdict(measured['ratio'] <= TARGET_FLOOR_RATIO)} "
                  f"({measured['ratio']:.2f}x)")
    four, twenty = cases.get("funnel4", {}), cases.get("funnel20", {})
    if "seconds" in four and "seconds" in twenty:
        steps = twenty["seconds"] / four["seconds"]
        print(f"  20-step / 4-step <= {TARGET_STEPS_RATIO:.0f}x: "
              f"{_verdict(steps <= TARGET_STEPS_RATIO)} ({steps:.2f}x)")
    peaks = [m["rss_mb"] for m in cases.values() if "rss_mb" in m]
    if peaks:
        scale = f"at {events:,} events" + ("" if events >= 45_000_000 else
                                           " (the target is at 50M events)")
        print(f"  peak < {TARGET_PEAK_MB:,} MB {scale}: "
              f"{_verdict(max(peaks) < TARGET_PEAK_MB)} ({max(peaks):,.0f} MB)")


def _peers(data: Dataset, timeout: float, table_source_max: int) -> dict[str, Any]:
    print("\npeers, end to end from the same Parquet file (reading included, imports not):")
    how = "table" if data.info["events"] <= table_source_max else "view"
    print("touchpath reads the file with " + (
        "TableSource.from_parquet (every column into memory)" if how == "table" else
        f"a DuckDB view over it (above {table_source_max:,} events TableSource.from_parquet "
        "is not run: it holds every column in memory)"))
    runs = {"touchpath": child("parquet-touchpath", data, ["--parquet-source", how],
                               timeout=timeout),
            "pandas": child("parquet-pandas", data, timeout=timeout),
            "retentioneering": measure_retentioneering(data, timeout)}
    print(f"{'who':16} {'load':>7} {'funnel':>7} {'matrix':>7} {'total':>7} {'peak MB':>8}")
    for who, measured in runs.items():
        if "missing" in measured:
            print(f"{who:16} {measured['missing']}")
            continue
        cells = [_cell(measured.get(k)) for k in ("load", "funnel", "step_matrix", "seconds")]
        print(f"{who:16} {' '.join(cells)} {measured['rss_mb']:8,.0f}")
    ours = runs["touchpath"]
    for part, label in (("seconds", "total"), ("funnel", "funnel incl. load"),
                        ("step_matrix", "step matrix incl. load")):
        mine = _part_seconds(ours, part)
        if mine is None:
            print(f"  {label}: touchpath's part did not finish")
            continue
        for who in ("pandas", "retentioneering"):
            theirs = _part_seconds(runs[who], part)
            if theirs is not None:
                speedup = theirs / mine
                how = (f"{speedup:5.1f}x faster than" if speedup >= 1
                       else f"{1 / speedup:5.1f}x slower than")
                print(f"  {label:24} touchpath {how} {who:16} target >= "
                      f"{TARGET_PEER_RATIO:.0f}x faster: "
                      f"{_verdict(speedup >= TARGET_PEER_RATIO)}")
    _answers(runs)
    return runs


def _part_seconds(measured: dict[str, Any], part: str) -> float | None:
    """Seconds of ``part`` end to end: the total, or the load plus one analysis."""
    if "missing" in measured or measured.get(part) is None:
        return None
    return float(measured[part]) + (0.0 if part == "seconds" else float(measured["load"]))


def _cell(seconds: float | None) -> str:
    return f"{seconds:7.2f}" if seconds is not None and not math.isnan(seconds) else f"{'-':>7}"


def _answers(runs: dict[str, Any]) -> None:
    print("\nsame answers? (people per step of " + " > ".join(FUNNEL4) + ")")
    answers = {who: m.get("answer", {}) for who, m in runs.items() if "missing" not in m}
    for key, label in (("funnel", "7-day window"), ("funnel_no_window", "no window")):
        seen = {who: a[key] for who, a in answers.items() if a.get(key) is not None}
        for who, counts in seen.items():
            print(f"  {label:13} {who:16} {counts}")
        if len(seen) > 1:
            same = len({json.dumps(c) for c in seen.values()}) == 1
            print(f"  {label:13} {'AGREE' if same else 'DIFFER'}")
    matrices = {who: nonzero(a["step_matrix"]) for who, a in answers.items()
                if a.get("step_matrix")}
    if len(matrices) > 1:
        same = len({json.dumps(m, sort_keys=True) for m in matrices.values()}) == 1
        print(f"  step matrix ({', '.join(matrices)}; people per event at steps "
              f"1..{MATRIX_STEPS}): {'AGREE' if same else 'DIFFER'}")


def nonzero(matrix: dict[str, list[int]]) -> dict[str, list[int]]:
    """A step matrix without the events no one is at in any step (some list them, some not)."""
    return {event: row for event, row in matrix.items() if any(row)}


def _revision() -> str:
    """The commit measured, and the source files changed since (they are measured too)."""
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT,
                             check=False)
        return out.stdout.rstrip()

    head = git("rev-parse", "--short", "HEAD") or "unknown commit"
    changed = git("status", "--porcelain", "--", "src").splitlines()
    return f"commit {head}" + (f" + {len(changed)} uncommitted files in src/: "
                               + ", ".join(line[3:].removeprefix("src/touchpath/")
                                           for line in changed) if changed else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS,
                        help="seconds after which a case is stopped and reported as such")
    parser.add_argument("--memory-limit", default="8GB",
                        help="DuckDB memory_limit in every measured process ('' for DuckDB's "
                             "default, 80%% of RAM)")
    parser.add_argument("--table-source-max-events", type=int, default=2_000_000,
                        help="above this, touchpath reads the Parquet file through a view, "
                             "not TableSource.from_parquet")
    parser.add_argument("--copies", type=int, default=1,
                        help="the store of --events this many times over, as disjoint "
                             "populations (50M events: --events 10000000 --copies 5; needs "
                             "--no-peers)")
    parser.add_argument("--timezone", default="UTC",
                        help="the store's setting timezone for the analyses (calendar days in "
                             "that zone cost a conversion of each event's time)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--parquet-source", default="table", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--people", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child_main(args)
        return
    if args.copies < 1 or (args.copies > 1 and not args.no_peers):
        parser.error("--copies must be 1 or more, and above 1 needs --no-peers (the peers "
                     "read the original data's Parquet file)")
    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; cases: {', '.join(CASES)}")
    print(f"analytics benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, {_revision()}",
          flush=True)
    if args.memory_limit:
        os.environ[MEMORY_LIMIT_VARIABLE] = args.memory_limit  # the children inherit it
    os.environ[TIMEZONE_VARIABLE] = args.timezone
    print(f"DuckDB memory_limit per process: {args.memory_limit or 'DuckDB default'}; "
          f"timeout per case: {args.timeout:.0f} s; analyses count days in {args.timezone}",
          flush=True)
    results = run_benchmark(args.events, cases, args.repeat, not args.no_peers, args.timeout,
                            args.table_source_max_events, args.copies)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\nfor benchmarks/RESULTS.md:\n" + markdown(results))


def markdown(results: dict[str, Any]) -> str:
    """The case table of a run as Markdown rows (what RESULTS.md records)."""
    floor = results["floor"]
    lines = ["| case | seconds | vs floor | peak RSS | answer |", "|---|---|---|---|---|",
             f"| floor: count(*), count(distinct person_id) | {floor['seconds']:.3f} | 1x | "
             f"{floor['rss_mb']:,.0f} MB | {floor['answer']} |"]
    for name, measured in results["cases"].items():
        title = CASES[name].title
        if "missing" in measured:
            lines.append(f"| {title} | {measured['missing']} | | | |")
            continue
        answer = _short(measured["answer"], 70).replace("|", "/")
        lines.append(f"| {title} | {measured['seconds']:.2f} | {measured['ratio']:.1f}x | "
                     f"{measured['rss_mb']:,.0f} MB | {answer} |")
    peers = results.get("peers") or {}
    if peers:
        lines += ["", "| end to end from Parquet | load | funnel | step matrix | total | peak |",
                  "|---|---|---|---|---|---|"]
        for who, measured in peers.items():
            if "missing" in measured:
                lines.append(f"| {who} | {measured['missing']} | | | | |")
                continue
            cells = " | ".join(_cell(measured.get(k)).strip()
                               for k in ("load", "funnel", "step_matrix", "seconds"))
            lines.append(f"| {who} | {cells} | {measured['rss_mb']:,.0f} MB |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
