"""Attribution speed: every model on 1M journeys over 20 channels, and ChannelAttribution beside it.

    python -m benchmarks.attribution_speed --journeys 1000000 --channels 20
    python -m benchmarks.attribution_speed --journeys 100000 --ca-python /path/to/venv/bin/python

Data, synthesised with a fixed seed: ``--journeys`` customer journeys over ``--channels``
channels (popularity skewed, each next touch depends on the last one, 1-12 touches, 5% of the
journeys convert with a probability that grows with the channels they saw, revenue
lognormal). Two forms of the same journeys:

- aggregated paths (:class:`ConversionPaths`, distinct paths with counts): every model that
  runs on paths is timed on them, each the best of ``--repeat`` runs, plus a bootstrap of the
  data-driven models;
- a raw event table (one event per touch, one ``Order Completed`` event per conversion, a day
  apart) behind a :class:`TableSource`: the whole analysis end to end, path building in DuckDB
  included (``run_attribution``), which time decay needs.

With ``--ca-python`` (a Python with the ``ChannelAttribution`` package, GPL-3, not a touchpath
dependency) its ``markov_model`` (simulation) runs on the same aggregated paths in a
subprocess; its time and the largest difference of its removal effects and attributed
conversions from the exact solution are printed. ``--ca-data`` adds the same comparison on
the package's own sample journeys (``src/cypack/data/Data.csv`` in its source distribution).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from touchpath.analytics.filters import EventMatcher
from touchpath.analytics.source import TableSource
from touchpath.attribution import AttributionSpec, ConversionPaths, run_attribution
from touchpath.attribution.analysis import model_function
from touchpath.attribution.bootstrap import intervals
from touchpath.attribution.markov import markov_attribution

MAX_TOUCHES = 12
START = datetime(2026, 1, 1)


def synthesise(journeys: int, channels: int, seed: int) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray, np.ndarray]:
    """``(touches (journeys x MAX_TOUCHES, -1 padded), lengths, converted, value)``."""
    rng = np.random.default_rng(seed)
    popularity = rng.dirichlet(np.full(channels, 0.8))
    stay = 0.35  # chance the next touch repeats the channel
    lengths = np.minimum(rng.geometric(0.35, journeys), MAX_TOUCHES)
    touches = np.full((journeys, MAX_TOUCHES), -1, dtype=np.int64)
    touches[:, 0] = rng.choice(channels, journeys, p=popularity)
    for k in range(1, MAX_TOUCHES):
        alive = lengths > k
        fresh = rng.choice(channels, journeys, p=popularity)
        repeat = rng.random(journeys) < stay
        touches[:, k] = np.where(alive, np.where(repeat, touches[:, k - 1], fresh), -1)
    lift = rng.uniform(0.0, 0.04, channels)  # what seeing each channel adds
    seen = np.zeros((journeys, channels), dtype=bool)
    for k in range(MAX_TOUCHES):
        rows = np.flatnonzero(touches[:, k] >= 0)
        seen[rows, touches[rows, k]] = True
    probability = np.clip(0.01 + seen.astype(float) @ lift, 0, 1)
    converted = rng.random(journeys) < probability
    value = np.where(converted, np.round(rng.lognormal(4.5, 0.8, journeys), 2), 0.0)
    return touches, lengths, converted, value


def aggregate(touches: np.ndarray, lengths: np.ndarray, converted: np.ndarray,
              value: np.ndarray, channels: int) -> ConversionPaths:
    """Distinct paths with counts, by one sort of the padded journey rows."""
    unique, inverse = np.unique(touches, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    size = len(unique)
    conversions = np.bincount(inverse, converted.astype(float), size)
    nulls = np.bincount(inverse, (~converted).astype(float), size)
    values = np.bincount(inverse, value, size)
    path_lengths = (unique >= 0).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(path_lengths)]).astype(np.int64)
    flat = unique[unique >= 0].astype(np.int64)  # row-major: each path's touches in order
    names = tuple(f"ch{c:02d}" for c in range(channels))
    return ConversionPaths(names, offsets, flat, conversions, values, nulls)


def raw_events(touches: np.ndarray, lengths: np.ndarray, converted: np.ndarray,
               value: np.ndarray) -> pa.Table:
    """One event per touch (a day apart), then ``Order Completed`` for converting journeys;
    each journey is its own person."""
    journeys = len(lengths)
    person = np.repeat(np.arange(journeys), lengths)
    step = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    channel = touches[touches >= 0]
    won = np.flatnonzero(converted)
    people = np.concatenate([person, won])
    steps = np.concatenate([step, lengths[won]])
    base = np.datetime64(START, "us")
    times = base + (steps * 86_400 + people % 86_400).astype("timedelta64[s]")
    events = np.concatenate([np.full(len(person), "$page", dtype=object),
                             np.full(len(won), "Order Completed", dtype=object)])
    channels = np.concatenate([np.char.add("ch", np.char.zfill(channel.astype(str), 2)),
                               np.full(len(won), None, dtype=object)])
    revenue = np.concatenate([np.full(len(person), np.nan), value[won]])
    ids = np.arange(len(people))
    return pa.table({
        "message_id": pa.array(np.char.add("m", ids.astype(str))),
        "person_id": pa.array(np.char.add("p", people.astype(str))),
        "timestamp": pa.array(times, type=pa.timestamp("us")),
        "event": pa.array(events, type=pa.string()),
        "channel": pa.array(channels, type=pa.string()),
        "revenue": pa.array(revenue, from_pandas=True),
        "session_id": pa.nulls(len(people), pa.string()),
    })


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


CA_SCRIPT = """
import json, sys, time
import pandas as pd
from ChannelAttribution import markov_model
data = pd.read_csv(sys.argv[1])
started = time.perf_counter()
out = markov_model(data, "path", "conversions", var_value="value", var_null="nulls",
                   order=int(sys.argv[2]), out_more=True, verbose=False, flg_pro=False,
                   nsim_start=float(sys.argv[3]), conv_par=float(sys.argv[4]))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds,
                  "conversions": dict(zip(out["result"]["channel_name"],
                                          out["result"]["total_conversions"])),
                  "removal": dict(zip(out["removal_effects"]["channel_name"],
                                      out["removal_effects"]["removal_effects_conversion"]))}))
"""


def channel_attribution(python: str, paths: ConversionPaths, order: int,
                        simulations: float = 1e5, convergence: float = 0.05) -> dict[str, Any]:
    """ChannelAttribution's ``markov_model`` on the same paths, in its own interpreter
    (``simulations`` = its ``nsim_start``, ``convergence`` its ``conv_par``; the defaults are
    the package's)."""
    with tempfile.TemporaryDirectory() as folder:
        table = paths.to_frame(sep=" > ")[["path", "conversions", "value", "nulls"]]
        file = Path(folder) / "paths.csv"
        table.to_csv(file, index=False)
        done = subprocess.run([python, "-c", CA_SCRIPT, str(file), str(order),
                               str(simulations), str(convergence)],
                              capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs per model; the best counts")
    parser.add_argument("--bootstrap", type=int, default=20,
                        help="resamples for the bootstrap timing (0: skip)")
    parser.add_argument("--raw-journeys", type=int, default=None,
                        help="journeys in the raw-event run (default: --journeys; 0: skip)")
    parser.add_argument("--ca-python", default=os.environ.get("CHANNELATTRIBUTION_PYTHON"),
                        help="a Python with ChannelAttribution installed, to compare with")
    parser.add_argument("--ca-data", default=os.environ.get("ATTRIBUTION_CA_DATA"),
                        help="ChannelAttribution's sample Data.csv (from its source "
                             "distribution), compared on too")
    args = parser.parse_args(argv)
    print(f"attribution benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)

    started = time.perf_counter()
    data = synthesise(args.journeys, args.channels, args.seed)
    paths = aggregate(*data, channels=args.channels)
    print(f"{args.journeys:,} journeys over {args.channels} channels -> {len(paths):,} distinct "
          f"paths, {paths.total_conversions:,.0f} conversions, {len(paths.touches):,} touches in "
          f"distinct paths ({time.perf_counter() - started:.1f} s to synthesise and aggregate)",
          flush=True)

    spec = AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue",
                           direct=("ch00",))
    print(f"\n{'model (on aggregated paths)':<34}{'seconds':>9}")
    timings: dict[str, float] = {}
    for model in ("first_touch", "last_touch", "last_non_direct", "linear", "position_based",
                  "participation", "shapley", "shapley_rate"):
        seconds, _ = best_of(args.repeat, lambda m=model: model_function(m, spec)(paths))
        timings[model] = seconds
        print(f"{model:<34}{seconds:>9.3f}", flush=True)
    exact: dict[int, Any] = {}
    for order in (1, 2, 3, 4):
        seconds, found = best_of(args.repeat, lambda o=order: markov_attribution(paths, o))
        exact[order] = found
        print(f"{f'markov order {order} ({found.states:,} states)':<34}{seconds:>9.3f}",
              flush=True)
    if args.bootstrap:
        for model in ("markov", "shapley"):
            seconds, _ = best_of(1, lambda m=model: intervals(
                paths, model_function(m, spec), args.bootstrap, args.seed, 0.95))
            print(f"{f'{model} bootstrap x{args.bootstrap}':<34}{seconds:>9.3f}", flush=True)

    raw = args.journeys if args.raw_journeys is None else args.raw_journeys
    if raw:
        subset = tuple(part[:raw] for part in data)
        events = raw_events(*subset)
        source = TableSource(events)
        print(f"\nend to end on {raw:,} journeys as {events.num_rows:,} raw events "
              "(TableSource, DuckDB):", flush=True)
        table = source.table("events")
        floor, _ = best_of(args.repeat, lambda: table.aggregate(
            n=table.count(), people=table.person_id.nunique()).to_pyarrow())
        print(f"  {'floor: count(*), count(distinct person_id)':<60}{floor:>8.2f} s", flush=True)
        for models in (("last_touch",), ("time_decay",), ("markov",),
                       ("first_touch", "last_touch", "linear", "time_decay", "position_based",
                        "markov", "shapley")):
            run_spec = AttributionSpec(conversion=EventMatcher("Order Completed"),
                                       value="revenue", touches="event", models=models,
                                       lookback_days=30)
            seconds, result = best_of(args.repeat, lambda s=run_spec: run_attribution(source, s))
            print(f"  {'+'.join(models):<60}{seconds:>8.2f} s  {seconds / floor:5.1f}x floor "
                  f"({result.summary['distinct_paths']:,} distinct paths)", flush=True)

    if args.ca_python and args.ca_data:
        sample = ConversionPaths.from_frame(
            pd.read_csv(args.ca_data, sep=";"), conversions="total_conversions",
            value="total_conversion_value", nulls="total_null")
        for order in (1, 2, 3):
            seconds, ours = best_of(args.repeat, lambda o=order: markov_attribution(sample, o))
            print(f"\nChannelAttribution's sample data ({len(sample):,} paths), order {order}: "
                  f"exact {seconds:.3f} s", flush=True)
            compare(channel_attribution(args.ca_python, sample, order), ours, sample)
            if order == 1:
                # more simulations, tighter convergence: the gap should shrink toward 0
                for simulations, convergence in ((1e6, 0.01), (1e7, 0.005)):
                    print(f"  with nsim_start={simulations:.0e}, conv_par={convergence}:")
                    compare(channel_attribution(args.ca_python, sample, 1, simulations,
                                                convergence), ours, sample)
    if args.ca_python:
        for order in (1, 2):
            print(f"\nChannelAttribution markov_model (order {order}, simulation) on the same "
                  f"{len(paths):,} paths:", flush=True)
            compare(channel_attribution(args.ca_python, paths, order), exact[order], paths)
    sys.stdout.flush()


def compare(theirs: dict[str, Any], ours: Any, paths: ConversionPaths) -> None:
    """Print ChannelAttribution's time and its largest differences from the exact solution."""
    if "error" in theirs:
        print(f"  ChannelAttribution failed: {theirs['error']}")
        return
    names = list(paths.channels)
    removal = np.array([theirs["removal"].get(n, 0.0) for n in names])
    credit = np.array([theirs["conversions"].get(n, 0.0) for n in names])
    gap = np.abs(credit - ours.conversions).max()
    print(f"  ChannelAttribution markov_model {theirs['seconds']:.2f} s")
    print(f"  largest removal-effect difference: "
          f"{np.abs(removal - ours.removal_effects).max():.4f} (removal effects "
          f"{ours.removal_effects.min():.3f}-{ours.removal_effects.max():.3f})")
    print(f"  largest attributed-conversions difference: {gap:,.1f} of "
          f"{paths.total_conversions:,.0f} ({gap / paths.total_conversions:.3%})")


if __name__ == "__main__":
    main()
