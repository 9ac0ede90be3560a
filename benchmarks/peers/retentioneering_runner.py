"""Retentioneering 5 on the benchmark's Parquet file: its funnel and its step matrix.

Runs in its own virtual environment (retentioneering pins its own dependencies; it never goes
into touchpath's), so it imports nothing from touchpath or benchmarks::

    benchmarks/.cache/venv-rete/bin/python benchmarks/peers/retentioneering_runner.py \
        --parquet events.parquet --steps 'Product Viewed,Product Added,...' --max-steps 10

Prints one JSON line: seconds for loading (read_parquet + Eventstream), funnel and step matrix,
peak RSS, and the answers (people per funnel step; people per event and step).

Retentioneering's funnel has no conversion window: a path (here a person) reaches step k when
steps 1..k occur in that order anywhere in the person's events. Its events are ordered by
timestamp; rows with equal timestamps keep the order they arrive in, so the frame is sorted by
(person, timestamp, message id) first, which is touchpath's order.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

# Retentioneering sends usage events to PostHog unless told not to; benchmarks run offline.
os.environ["RETENTIONEERING_NO_TRACK"] = "1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parquet", required=True)
    parser.add_argument("--steps", required=True, help="comma-separated funnel steps")
    parser.add_argument("--max-steps", type=int, default=10)
    args = parser.parse_args()

    import pandas as pd
    import retentioneering
    from retentioneering import Eventstream

    steps = args.steps.split(",")
    started = time.perf_counter()
    frame = pd.read_parquet(args.parquet, columns=["person_id", "timestamp", "message_id",
                                                   "event"])
    frame = frame.sort_values(["person_id", "timestamp", "message_id"], ignore_index=True)
    stream = Eventstream(frame, schema={"path_cols": ["person_id"], "custom_cols": []})
    loaded = time.perf_counter()
    funnel = stream.funnel_data(steps=steps)
    funneled = time.perf_counter()
    shares = stream.step_matrix_data(max_steps=args.max_steps)
    done = time.perf_counter()

    people = int(frame["person_id"].nunique())
    matrix = {str(event): [round(float(shares.loc[event, k]) * people)
                           for k in range(1, args.max_steps + 1)]
              for event in shares.index if event not in ("path_start", "path_end")}
    print(json.dumps({
        "version": retentioneering.__version__,
        "load": loaded - started, "funnel": funneled - loaded, "step_matrix": done - funneled,
        "seconds": done - started,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "answer": {"funnel_no_window": [int(s["unique_paths"]) for s in funnel["steps"]],
                   "step_matrix": matrix},
    }))


if __name__ == "__main__":
    main()
