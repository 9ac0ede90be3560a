"""Spark speed: the same analyses on DuckDB and on Spark over the same Parquet file, and on Spark
each analysis against a hand-written Spark SQL query of the same question.

    python -m benchmarks.spark_speed --events 200000 --cases funnel4,retention
    python -m benchmarks.spark_speed --events 10000000
    python -m benchmarks.spark_speed --events 10000000 --copies 5 --cases funnel4,retention

``--copies K`` (for 50M events from the 10M data): the Parquet file ``K`` times over, each copy
with its own persons and message ids (``person_id || '~k'``), written once next to the data: K
disjoint populations with the same behaviour, so every count is K times the original's (the
benchmark checks the engines agree, not the values).

Data: the cached benchmark Parquet of ``benchmarks/analytics_speed.py`` (the demo business at
about ``--events`` events; made there if missing). DuckDB reads it through
``TableSource.from_parquet`` (a view: the file is scanned per query); Spark through
``SparkSource.from_parquet`` in ``--master`` mode (default ``local[2]``), in this process, with
touchpath's session settings (UTC, shuffle partitions = cores, adaptive execution, Arrow).

Per case: the best of ``--repeat`` runs on each engine (the first Spark query of the run, a
count, warms the JVM and is not counted), their ratio, and for every case a hand-written Spark
SQL query of the same question (its answer is printed next to touchpath's, and must be equal),
with the ratio touchpath-on-Spark / hand SQL. The issue's target: each analysis on Spark within
2x the hand-written SQL. For ``stages`` the hand SQL computes the stage changes of the default
stage model once (cached) and counts the main tables from them: people per stage now, entered
and furthest, conversion with the time between stages, the transitions and the weekly table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.analytics_speed import CASES, FUNNEL4, FUNNEL20, dataset


def hand_funnel(steps: tuple[str, ...], window_seconds: int) -> str:
    """A sequential funnel of ``steps`` in Spark SQL, unique persons, window inclusive from
    step 1, next step = the first matching event later in (timestamp, message_id) order
    (docs/funnels.md): one window pass gives each event the position of the next event of each
    step name, then one self-join per step follows the chain from every step-1 event."""
    names = list(dict.fromkeys(steps))
    col = {name: f"n{j}" for j, name in enumerate(names)}
    quoted = ", ".join("'" + name + "'" for name in names)
    nexts = ",\n         ".join(
        f"min(CASE WHEN event = '{name}' THEN pos END) OVER w AS {col[name]}" for name in names)
    joins = "\n  ".join(
        f"LEFT JOIN n s{k} ON s{k}.person_id = s1.person_id AND s{k}.pos = s{k - 1}.{col[step]}"
        for k, step in enumerate(steps[1:], 2))
    times = ", ".join(f"s{k}.ts AS t{k}" for k in range(1, len(steps) + 1))
    depth = "\n                             ".join(
        f"WHEN t{k} <= t1 + INTERVAL {window_seconds} SECONDS THEN {k}"
        for k in range(len(steps), 1, -1))
    counts = ", ".join(["count(*) AS s1"] + [f"count_if(depth >= {k}) AS s{k}"
                                             for k in range(2, len(steps) + 1)])
    return f"""
WITH e AS (
  SELECT person_id, timestamp AS ts, event,
         row_number() OVER (PARTITION BY person_id ORDER BY timestamp, message_id) AS pos
  FROM {{events}} WHERE event IN ({quoted})
), n AS (
  SELECT person_id, pos, ts, event,
         {nexts}
  FROM e
  WINDOW w AS (PARTITION BY person_id ORDER BY pos
               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
), a AS (
  SELECT s1.person_id, {times}
  FROM n s1
  {joins}
  WHERE s1.event = '{steps[0]}'
), d AS (
  SELECT person_id, max(CASE {depth}
                             ELSE 1 END) AS depth
  FROM a GROUP BY person_id
)
SELECT {counts}
FROM d
"""


HAND_RETENTION = """
WITH firsts AS (
  SELECT person_id, date_trunc('week', min(timestamp)) AS cohort FROM {events}
  GROUP BY person_id
), active AS (
  SELECT DISTINCT person_id, date_trunc('week', timestamp) AS week FROM {events}
)
SELECT f.cohort, CAST(floor(datediff(a.week, f.cohort) / 7) AS INT) AS period,
       count(*) AS people
FROM firsts f JOIN active a ON a.person_id = f.person_id
WHERE a.week >= f.cohort AND a.week < f.cohort + INTERVAL {periods} WEEKS
GROUP BY 1, 2
"""
"""Weekly retention, cohort = the calendar week (Monday) of a person's first event, period k =
active (any event) in the k-th calendar week after it."""


HAND_LIFECYCLE = """
WITH a AS (
  SELECT DISTINCT person_id, date_trunc('week', timestamp) AS w FROM {events}
), l AS (
  SELECT w, lag(w) OVER (PARTITION BY person_id ORDER BY w) AS prev,
         lead(w) OVER (PARTITION BY person_id ORDER BY w) AS next
  FROM a
)
SELECT w AS week, count_if(prev IS NULL) AS new,
       count_if(prev = w - INTERVAL 7 DAYS) AS returning,
       count_if(prev < w - INTERVAL 7 DAYS) AS resurrecting, 0 AS dormant
FROM l GROUP BY w
UNION ALL
SELECT w + INTERVAL 7 DAYS, 0, 0, 0, -count(*) FROM l
WHERE next IS NULL OR next > w + INTERVAL 7 DAYS GROUP BY w
"""
"""Weekly lifecycle: a person active (any event) in week w is new (never before), returning
(active the week before) or resurrecting; dormant in w + 1 when not active then."""

HAND_SESSIONS = """
WITH o AS (
  SELECT person_id, timestamp AS ts, message_id, channel,
         CASE WHEN lag(timestamp) OVER w IS NULL
                OR timestamp > lag(timestamp) OVER w + INTERVAL 1800 SECONDS THEN 1 ELSE 0 END
           AS start
  FROM {events} WINDOW w AS (PARTITION BY person_id ORDER BY timestamp, message_id)
), n AS (
  SELECT person_id, ts, message_id, channel,
         sum(start) OVER (PARTITION BY person_id ORDER BY ts, message_id
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS k
  FROM o
), s AS (
  SELECT person_id, min(ts) AS started,
         (unix_micros(CAST(max(ts) AS TIMESTAMP)) - unix_micros(CAST(min(ts) AS TIMESTAMP))) / 1e6
           AS len, count(*) AS events,
         min_by(channel, struct(ts, message_id)) AS entry_channel
  FROM n GROUP BY person_id, k
)
SELECT date_trunc('day', started) AS day, entry_channel, count(*) AS sessions,
       count(DISTINCT person_id) AS people, percentile(len, 0.5) AS median_length_seconds,
       percentile(len, 0.9) AS p90_length_seconds, percentile(events, 0.5) AS median_events,
       percentile(events, 0.9) AS p90_events, avg(IF(events = 1, 1.0D, 0.0D)) AS bounce_rate
FROM s GROUP BY GROUPING SETS ((date_trunc('day', started)), (), (entry_channel))
"""
"""Sessions with a 30-minute timeout over each person's events in (timestamp, message_id)
order: per day, overall and by entry channel (what touchpath's sessions analysis answers)."""


HAND_PATHS = """
WITH o AS (
  SELECT person_id, timestamp, message_id, event,
         lag(event) OVER (PARTITION BY person_id ORDER BY timestamp, message_id) AS prev
  FROM {events}
), c AS (
  SELECT person_id, event,
         row_number() OVER (PARTITION BY person_id ORDER BY timestamp, message_id) AS k
  FROM o WHERE prev IS NULL OR prev <> event
), p AS (
  SELECT concat_ws(' → ', transform(array_sort(collect_list(struct(k, event))),
                                    x -> x.event)) AS path
  FROM c WHERE k <= {steps} GROUP BY person_id
)
SELECT path, count(*) AS n FROM p GROUP BY path
"""
"""Paths from each person's first event, repeats collapsed, the first ``steps`` steps: every
distinct path and how many people follow it."""


HAND_STAGE_CHANGES = """
WITH e AS (
  SELECT person_id, timestamp AS ts, message_id, event,
         event IN ('$page', '$screen', 'Email Link Clicked') AND utm_source IS NOT NULL
           AS landing,
         event IN ('Review Submitted', 'Referral Sent')
           OR event = 'Survey Answered'
              AND coalesce(get_json_object(properties, '$.survey') = 'nps'
                           AND try_cast(get_json_object(properties, '$.score') AS DOUBLE) >= 9,
                           false) AS promoter
  FROM {events}
), r AS (
  SELECT person_id, ts, message_id, event, landing, promoter,
         row_number() OVER w AS pos,
         count_if(event IN ('Product Viewed', 'Product Added', 'Cart Viewed',
                            'Checkout Started', 'Order Completed')) OVER before AS looked,
         count_if(event = 'Order Completed') OVER before AS orders
  FROM e
  WINDOW w AS (PARTITION BY person_id ORDER BY ts, message_id),
         before AS (PARTITION BY person_id ORDER BY ts, message_id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), s AS (
  SELECT person_id, ts, message_id, pos,
         CASE WHEN promoter THEN 4
              WHEN orders > 0 AND event IN ('Order Completed', 'Email Opened',
                                            'Email Link Clicked', 'Support Ticket Opened')
                THEN 3
              WHEN orders = 0 AND event IN ('Checkout Started', 'Checkout Step Completed',
                                            'Payment Info Entered', 'Order Completed') THEN 2
              WHEN orders = 0 AND event IN ('Products Searched', 'Product Viewed',
                                            'Product Added', 'Cart Viewed', 'Coupon Applied')
                THEN 1
              WHEN pos = 1 OR landing AND looked = 0 THEN 0 END AS stage
  FROM r
), p AS (
  SELECT person_id, ts, message_id, pos, stage,
         last_value(stage, true) OVER (PARTITION BY person_id ORDER BY ts, message_id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
           AS from_stage
  FROM s
)
SELECT person_id, ts, pos, stage, from_stage,
       lead(ts) OVER w AS next_ts, lead(pos) OVER w IS NULL AS last,
       coalesce(bit_or(shiftleft(1, stage)) OVER (PARTITION BY person_id ORDER BY ts, message_id
                                                  ROWS BETWEEN UNBOUNDED PRECEDING
                                                  AND 1 PRECEDING), 0) AS before
FROM p
WHERE stage IS NOT NULL AND (from_stage IS NULL OR from_stage <> stage)
WINDOW w AS (PARTITION BY person_id ORDER BY ts, message_id)
"""
"""The stage changes of the default stage model (src/touchpath/journey/templates/default.yaml,
docs/stages.md). Each event's stage is that of the latest stage whose rule it matches: 4
advocacy = a review, a referral or an NPS answer of 9+; 3 retention = an order, an opened
e-mail, a clicked e-mail or a support ticket after an order; 2 purchase = checking out before
the first order, or the first order; 1 consideration = looking at products before the first
order; 0 awareness = the first event, or a campaign landing before looking at products. One
sort of each person's events in (timestamp, message_id) order serves every window: the counts
of earlier events, the previous staged event's stage, and for each change (a staged event
whose stage differs from the previous one's) the time of the person's next change, whether
it is their last, and the stages entered ``before`` it (a bit mask)."""

N_STAGES = 5
STAGE_IDS = ("awareness", "consideration", "purchase", "retention", "advocacy")

_K = range(N_STAGES)
_SECONDS = ("(unix_micros(CAST(went{k} AS TIMESTAMP)) "
            "- unix_micros(CAST(at{k} AS TIMESTAMP))) / 1e6")

HAND_STAGES = {
    "per_stage": f"""
WITH p AS (
  SELECT max(IF(last, stage, NULL)) AS now, max(stage) AS furthest,
         bit_or(shiftleft(1, stage)) AS entered,
         {", ".join(f"min(IF(stage = {k}, ts, NULL)) AS at{k}" for k in _K[:-1])},
         {", ".join(f"min(IF(stage = {k + 1} AND (before & {1 << k}) <> 0, ts, NULL)) AS went{k}"
                    for k in _K[:-1])}
  FROM {{changes}} GROUP BY person_id
)
SELECT count(*) AS people,
       {", ".join(f"count_if(now = {k}) AS now{k}" for k in _K)},
       {", ".join(f"count_if((entered & {1 << k}) <> 0) AS entered{k}" for k in _K)},
       {", ".join(f"count_if(furthest = {k}) AS furthest{k}" for k in _K)},
       {", ".join(f"count(went{k}) AS converted{k}, "
                  f"percentile({_SECONDS.format(k=k)}, array(0.5, 0.9)) AS took{k}"
                  for k in _K[:-1])}
FROM p
""",
    "transitions": """
SELECT from_stage, stage AS to_stage, count(*) AS transitions,
       count(DISTINCT person_id) AS people
FROM {changes} GROUP BY from_stage, stage
""",
    "over_time": """
WITH d AS (
  SELECT date_trunc('week', ts) AS week, stage, 1 AS delta FROM {changes}
  UNION ALL
  SELECT date_trunc('week', next_ts), stage, -1 FROM {changes} WHERE next_ts IS NOT NULL
)
SELECT week, stage, sum(sum(delta)) OVER (PARTITION BY stage ORDER BY week) AS people
FROM d GROUP BY week, stage
""",
}
"""The main tables of a stages analysis from the cached changes. ``per_stage`` (one row, from
one aggregate per person): people in all; people per current stage now, per stage entered and
per furthest stage; conversion k -> k+1 = people who entered k+1 after first entering k, with
the median and p90 seconds from the first entry into k to the first entry into k+1 after it
(one exact ``percentile`` with both fractions: two cost 1.5-2x as much at 10M events).
``transitions``: changes and people per (from, to). ``over_time``: people per current stage at
the end of each week in which it changed (+1 in the week of a change, -1 in the week of the
person's next change, summed up to each week); a week without a row for a stage keeps the
stage's count of the week before (filled in when the rows are read: densifying the weeks in
Spark, a cross join and a second window, costs 1-2 s more at 1M events)."""


def _stages_hand(spark: Any, view: str) -> dict[str, Any]:
    """The changes computed once and cached (a cached DataFrame: ``CACHE TABLE ... AS`` with
    this query leaves it uncached on Spark 4.0), then the tables from them."""
    changes = "hand_stage_changes"
    cached = spark.sql(HAND_STAGE_CHANGES.format(events=view)).cache()
    cached.createOrReplaceTempView(changes)
    try:
        rows = {name: spark.sql(query.format(changes=changes)).collect()
                for name, query in HAND_STAGES.items()}
    finally:
        spark.catalog.dropTempView(changes)
        cached.unpersist()
    one = rows["per_stage"][0]
    return {
        **{what: [int(one[f"{what}{k}"]) for k in _K] for what in ("now", "entered", "furthest")},
        "people": int(one["people"]),
        "conversion": [(int(one[f"converted{k}"]), *_quantiles(one[f"took{k}"]))
                       for k in _K[:-1]],
        "over_time": _weekly(rows["over_time"]),
        "transitions": {
            ("" if r["from_stage"] is None else STAGE_IDS[int(r["from_stage"])],
             STAGE_IDS[int(r["to_stage"])]): (int(r["transitions"]), int(r["people"]))
            for r in rows["transitions"]},
    }


def _weekly(rows: list[Any]) -> dict[str, list[int]]:
    """People per stage at the end of every week from the first to the last in ``rows`` (a
    stage without a row in a week keeps its count of the week before; 0 before its first)."""
    if not rows:
        return {}
    changed = {(row["week"].date(), int(row["stage"])): int(row["people"]) for row in rows}
    week, last = min(w for w, _ in changed), max(w for w, _ in changed)
    table, now = {}, [0] * N_STAGES
    while week <= last:
        now = [changed.get((week, k), now[k]) for k in _K]
        table[str(week)] = now
        week += timedelta(days=7)
    return table


def _quantiles(values: list[float] | None) -> tuple[float | None, float | None]:
    """The median and p90 of a ``percentile(..., array(0.5, 0.9))`` (NULL: nobody)."""
    return (None, None) if values is None else (_round(values[0]), _round(values[1]))


def _round(value: Any) -> float | None:
    return None if value is None or value != value else round(float(value), 3)


def _stages_table(result: Any) -> dict[str, Any]:
    """touchpath's stages answer in the hand query's shape."""
    ids = list(result.frame["stage"])
    assert tuple(ids) == STAGE_IDS, ids
    return {
        "now": [int(n) for n in result.frame["people"]],
        "entered": [int(n) for n in result.drop_off["entered"]],
        "furthest": [int(n) for n in result.drop_off["furthest"]],
        "people": int(result.summary["people"]),
        "conversion": [(int(r["converted"]), _round(r["median_seconds"]),
                        _round(r["p90_seconds"])) for _, r in result.conversion.iterrows()],
        "over_time": {str(r["period"])[:10]: [int(r[s]) for s in STAGE_IDS]
                      for _, r in result.over_time.iterrows()},
        "transitions": {("" if r["from_stage"] is None or r["from_stage"] != r["from_stage"]
                         else r["from_stage"], r["to_stage"]): (int(r["transitions"]),
                                                                int(r["people"]))
                        for _, r in result.transitions.iterrows()},
    }


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, answer = [], None
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - started)
    return min(times), answer


def _funnel_hand(steps: tuple[str, ...]) -> Callable[[Any, str], list[int]]:
    def query(spark: Any, view: str) -> list[int]:
        row = spark.sql(hand_funnel(steps, 7 * 86400).format(events=view)).collect()[0]
        return [int(row[f"s{k}"]) for k in range(1, len(steps) + 1)]

    return query


def _retention_hand(spark: Any, view: str) -> dict[str, dict[int, int]]:
    rows = spark.sql(HAND_RETENTION.format(events=view, periods=12)).collect()
    table: dict[str, dict[int, int]] = {}
    for row in rows:
        table.setdefault(str(row["cohort"].date()), {})[int(row["period"])] = int(row["people"])
    return table


def _retention_table(result: Any) -> dict[str, dict[int, int]]:
    """touchpath's cohort x period counts (periods not yet observable are left out)."""
    table: dict[str, dict[int, int]] = {}
    for _, row in result.frame.iterrows():
        cells = {}
        for k in range(12):
            value = row.get(f"period_{k}")
            if value is not None and value == value and value > 0:  # NaN: not observable yet
                cells[k] = int(value)
        table[str(row["cohort"])[:10]] = cells
    return table


def _hand_comparable(hand: dict[str, dict[int, int]], ours: dict[str, dict[int, int]]
                     ) -> dict[str, dict[int, int]]:
    """The hand query's cells restricted to the (cohort, period) cells touchpath observes."""
    return {c: {k: v for k, v in hand.get(c, {}).items() if k in ours[c]} for c in ours}


def _lifecycle_hand(spark: Any, view: str) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for row in spark.sql(HAND_LIFECYCLE.format(events=view)).collect():
        cell = table.setdefault(str(row["week"].date()), dict.fromkeys(LIFECYCLE, 0))
        for status in LIFECYCLE:
            cell[status] += int(row[status])
    return table


LIFECYCLE = ("new", "returning", "resurrecting", "dormant")


def _lifecycle_table(result: Any) -> dict[str, dict[str, int]]:
    return {str(row["period"])[:10]: {s: int(row[s]) for s in LIFECYCLE}
            for _, row in result.frame.iterrows()}


def _sessions_hand(spark: Any, view: str) -> dict[str, Any]:
    rows = spark.sql(HAND_SESSIONS.format(events=view)).collect()
    overall = next(r for r in rows if r["day"] is None and r["entry_channel"] is None)
    return _sessions_keep(overall.asDict())


def _sessions_keep(summary: dict[str, Any]) -> dict[str, Any]:
    return {"sessions": int(summary["sessions"]), "people": int(summary["people"]),
            **{k: round(float(summary[k]), 6) for k in (
                "median_length_seconds", "p90_length_seconds", "median_events", "p90_events",
                "bounce_rate")}}


def _paths_hand(spark: Any, view: str) -> dict[str, Any]:
    counts = {str(r["path"]): int(r["n"])
              for r in spark.sql(HAND_PATHS.format(events=view, steps=5)).collect()}
    top = min(counts.items(), key=lambda item: (-item[1], item[0])) if counts else None
    return {"entities": sum(counts.values()), "distinct_paths": len(counts),
            "top": None if top is None else f"{top[0]} ({top[1]})"}


HAND: dict[str, tuple[Callable[[Any, str], Any], Callable[[Any], Any]]] = {
    "funnel4": (_funnel_hand(FUNNEL4), lambda r: [int(n) for n in r.counts()]),
    "funnel20": (_funnel_hand(FUNNEL20), lambda r: [int(n) for n in r.counts()]),
    "retention": (_retention_hand, _retention_table),
    "lifecycle": (_lifecycle_hand, _lifecycle_table),
    "paths5": (_paths_hand, CASES["paths5"].answer),
    "sessions": (_sessions_hand, lambda r: _sessions_keep(r.summary)),
    "stages": (_stages_hand, _stages_table),
}


def copies(parquet: Path, k: int) -> Path:
    """``parquet`` ``k`` times over as disjoint populations (made once, next to it)."""
    if k == 1:
        return parquet
    target = parquet.with_name(f"events-x{k}.parquet")
    if not target.exists():
        import duckdb

        print(f"writing {k} copies of {parquet} to {target} ...", flush=True)
        partial = target.with_suffix(".partial")
        duckdb.sql(f"""
            COPY (SELECT e.* REPLACE (e.person_id || '~' || c.k AS person_id,
                                      e.message_id || '~' || c.k AS message_id)
                  FROM read_parquet('{parquet}') e, range({k}) c(k))
            TO '{partial}' (FORMAT parquet, COMPRESSION zstd)""")
        partial.rename(target)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--cases", default="funnel4,funnel20,retention,paths5,stages,lifecycle,"
                        "sessions", help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the best counts")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--duckdb-memory", help="DuckDB's memory_limit, e.g. 8GB (its default, "
                        "80%% of RAM, leaves no room for Spark's driver at 50M events)")
    parser.add_argument("--copies", type=int, default=1,
                        help="the data this many times over, as disjoint populations")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    names = [c for c in args.cases.split(",") if c]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; cases: {', '.join(CASES)}")

    import touchpath  # noqa: F401 - registers the analyses
    from touchpath.analytics.registry import run
    from touchpath.analytics.source import TableSource
    from touchpath.config import load_settings
    from touchpath.store.spark import SparkSource, spark_session

    data = dataset(args.events)
    parquet = copies(data.parquet, args.copies)
    print(f"data: {parquet} ({data.info.get('events', 0) * args.copies:,} events); "
          f"Spark master {args.master}", flush=True)
    started = time.perf_counter()
    spark = spark_session(load_settings(env={}, engine="spark", spark_master=args.master,
                                        spark_conf=(f"spark.driver.memory={args.driver_memory}",)))
    spark.sparkContext.setLogLevel("ERROR")
    on_spark = SparkSource.from_parquet(spark, parquet)
    view = on_spark._views["events"]
    warm = spark.sql(f"SELECT count(*), count(DISTINCT person_id) FROM {view}").collect()[0]
    print(f"Spark session and first scan: {time.perf_counter() - started:.1f} s "
          f"({warm[0]:,} events, {warm[1]:,} persons)", flush=True)
    on_duckdb = TableSource.from_parquet(parquet)
    if args.duckdb_memory:
        on_duckdb.table("events").get_backend().raw_sql(
            f"SET memory_limit = '{args.duckdb_memory}'")

    results: list[dict[str, Any]] = []
    header = (f"{'case':<10} {'duckdb s':>9} {'spark s':>9} {'spark/duckdb':>13} "
              f"{'hand SQL s':>11} {'spark/hand':>11}  answers")
    print(header, flush=True)
    for name in names:
        case = CASES[name]
        spec = case.spec()
        duck_s, duck_r, duck_failed = float("nan"), None, ""
        try:
            duck_s, duck_r = _best(lambda spec=spec: run(on_duckdb, spec), args.repeat)
        except duckdb.OutOfMemoryException:  # reported, and Spark still measured
            duck_failed = f"DuckDB out of memory (memory_limit {args.duckdb_memory or 'default'})"
        spark_s, spark_r = _best(lambda spec=spec: run(on_spark, spec), args.repeat)
        same = not duck_failed and case.answer(duck_r) == case.answer(spark_r)
        row: dict[str, Any] = {"case": name, "duckdb_seconds": round(duck_s, 2),
                               "spark_seconds": round(spark_s, 2),
                               "spark_over_duckdb": round(spark_s / duck_s, 2),
                               "engines_agree": same, "duckdb_failed": duck_failed}
        query, ours = HAND[name]  # every case has its hand-written query
        hand_s, hand = _best(lambda query=query: query(spark, view), args.repeat)
        mine = ours(spark_r)
        if name == "retention":
            hand = _hand_comparable(hand, mine)
        elif name == "lifecycle":  # the weeks touchpath reports (with quiet weeks as 0)
            hand = {w: hand.get(w, dict.fromkeys(LIFECYCLE, 0)) for w in mine}
        row.update(hand_seconds=round(hand_s, 2), spark_over_hand=round(spark_s / hand_s, 2),
                   hand_agrees=hand == mine)
        hand_text = f"{hand_s:>11.2f} {spark_s / hand_s:>11.2f}"
        agree = duck_failed or ("engines agree" if same else "ENGINES DIFFER")
        agree += ", hand SQL agrees" if row["hand_agrees"] else ", HAND SQL DIFFERS"
        print(f"{name:<10} {duck_s:>9.2f} {spark_s:>9.2f} {spark_s / duck_s:>13.2f} "
              f"{hand_text}  {agree}", flush=True)
        if name == "funnel4":
            print(f"           funnel counts: touchpath {HAND['funnel4'][1](spark_r)}, "
                  f"hand SQL {hand if not row.get('hand_agrees') else 'same'}",
                  flush=True)
        results.append(row)
    on_spark.close()
    spark.stop()
    if args.json:
        measured = {"events": int(warm[0]), "copies": args.copies, "master": args.master,
                    "cases": results}
        args.json.write_text(json.dumps(measured, indent=2) + "\n")


if __name__ == "__main__":
    main()
