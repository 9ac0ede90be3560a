"""Load the demo business into a store: online touchpoints through the write path, offline
sources (POS receipts and returns, help-desk tickets) as files through the importer — the same
doors a real business's data comes in by."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from touchpath.collect.importer import import_file
from touchpath.collect.mapping import mapping_from_dict
from touchpath.demo import DemoSpec, generate, people_for_size
from touchpath.store.duckdb_store import DuckDBStore

CHUNK = 1_000_000
DEMO_COUNTRY_CODE = "972"  # the demo's stores are in Israel: receipts carry local phone numbers

Progress = Callable[[str, int, int], None]


def load_demo(store: DuckDBStore, *, size: str = "small", seed: int = 7,
              files_dir: Path | None = None, progress: Progress | None = None) -> str:
    """Generate the demo for ``size`` and ``seed`` and load it; returns a one-line report."""
    started = time.perf_counter()
    tick = progress or (lambda description, done, total: None)
    people = people_for_size(size)
    tick(f"generating {people:,} people", 0, 1)
    demo = generate(DemoSpec(people=people, seed=seed))
    events = demo.events
    stored = 0
    for low in range(0, events.num_rows, CHUNK):
        tick("writing online touchpoints", low, events.num_rows)
        stored += store.write(events.slice(low, CHUNK)).stored
    tick("writing online touchpoints", events.num_rows, events.num_rows)
    with tempfile.TemporaryDirectory() as scratch:
        directory = files_dir or Path(scratch)
        offline = 0
        for path, mapping in demo.write_offline_files(directory):
            spec = mapping_from_dict({"country_code": DEMO_COUNTRY_CODE, **mapping},
                                     where=path.name)
            label = f"importing {path.name}"

            def report(done: int, total: int, label: str = label) -> None:
                tick(label, done, total)

            summary = import_file(store, path, spec, progress=report)
            offline += summary.stored
    seconds = time.perf_counter() - started
    return (f"demo (seed {seed}): {people:,} people, {stored:,} online touchpoints and "
            f"{offline:,} offline rows loaded in {seconds:.1f} s")
