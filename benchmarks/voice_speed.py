"""Voice analytics speed: satisfaction, drivers and themes against a raw-scan floor.

    python -m benchmarks.voice_speed --people 100000

Data: the demo business loaded with ``load_demo`` into a DuckDB store cached under
``benchmarks/.cache/voice-<people>.duckdb`` (gitignored) and reused. Floor: ``count(*)`` and
``count(distinct person_id)`` of the store's events through Ibis on the same engine. Each case
is the best of ``--repeat`` runs in this process (the first run warms DuckDB's caches).
The issue's target for analyses: <= 3x the floor.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from touchpath.config import load_settings
from touchpath.demo.load import load_demo
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.voice.drivers import DriversSpec, run_drivers
from touchpath.voice.satisfaction import SatisfactionSpec, run_satisfaction
from touchpath.voice.themes import ThemesSpec, run_themes

CACHE = Path(__file__).resolve().parents[1] / "benchmarks" / ".cache"


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"voice-{args.people}.duckdb"
    if not path.exists():
        with DuckDBStore(load_settings(env={}, store_path=path)) as store:
            print(load_demo(store, size=str(args.people), seed=7))
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        events = store.table("events")

        def floor() -> Any:
            return events.aggregate(n=events.count(),
                                    people=events.person_id.nunique()).to_pandas()

        counted = floor().iloc[0]
        answers = events.filter(events.event == "Survey Answered").count().execute()
        print(f"{int(counted['n']):,} events, {int(counted['people']):,} people, "
              f"{int(answers):,} answers")
        cases: dict[str, Callable[[], Any]] = {
            "floor": floor,
            "satisfaction nps": lambda: run_satisfaction(store, SatisfactionSpec("nps")),
            "satisfaction csat by touchpoint": lambda: run_satisfaction(
                store, SatisfactionSpec("csat", breakdown="touchpoint")),
            "satisfaction nps by person.initial_channel": lambda: run_satisfaction(
                store, SatisfactionSpec("nps", breakdown="person.initial_channel")),
            "drivers nps": lambda: run_drivers(store, DriversSpec("nps")),
            "themes by band": lambda: run_themes(store, ThemesSpec()),
        }
        base = None
        for name, fn in cases.items():
            seconds = _best(fn, args.repeat)
            base = base or seconds
            print(f"{name:45s} {seconds:8.3f} s  {seconds / base:6.1f}x floor")


if __name__ == "__main__":
    main()
