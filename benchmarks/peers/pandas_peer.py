"""The funnel and the step matrix written in pandas the way an analyst would: read the Parquet
file, sort each person's events, then merges and groupbys. Nothing from touchpath is used, so
these are also a second reference for touchpath's answers (the smoke test compares them).

Counting rules, the same as touchpath's (``docs/funnels.md``, ``docs/counting-rules.md``):
- a person's events are ordered by timestamp, then message id;
- funnel: a person reaches step k when, after some event of step 1 at time t0, the steps 2..k
  occur in order (other events may come between), each at most ``window`` after t0 (bound
  included); the counts are distinct people per step;
- step matrix: how many people have event e as their k-th event (k = 1..max_steps).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["person_id", "timestamp", "message_id", "event"]


def load(path: str | Path) -> pd.DataFrame:
    """The events of the Parquet file, each person's in order, with ``pos``: the rank of the
    event in that order (a global row number, so "after" is a comparison of two numbers)."""
    frame = pd.read_parquet(path, columns=COLUMNS)
    frame = frame.sort_values(["person_id", "timestamp", "message_id"], ignore_index=True)
    frame["pos"] = np.arange(len(frame), dtype=np.int64)
    return frame


def funnel(frame: pd.DataFrame, steps: list[str], window: timedelta | None) -> list[int]:
    """People reaching each step. Every step-1 event starts an attempt; each attempt moves on
    to the earliest matching event after its current one (the earliest is always the best
    choice), and is dropped once that event is later than start + window."""
    first = frame.loc[frame["event"] == steps[0], ["person_id", "pos", "timestamp"]]
    attempts = first.rename(columns={"timestamp": "start"})
    counts = [int(attempts["person_id"].nunique())]
    for step in steps[1:]:
        candidates = frame.loc[frame["event"] == step, ["person_id", "pos", "timestamp"]]
        candidates = candidates.rename(columns={"pos": "next_pos"})
        moved = pd.merge_asof(
            attempts.sort_values("pos"), candidates, left_on="pos", right_on="next_pos",
            by="person_id", direction="forward", allow_exact_matches=False,
        ).dropna(subset=["next_pos"])
        if window is not None:
            moved = moved[moved["timestamp"] <= moved["start"] + window]
        attempts = pd.DataFrame({"person_id": moved["person_id"],
                                 "pos": moved["next_pos"].astype(np.int64),
                                 "start": moved["start"]})
        counts.append(int(attempts["person_id"].nunique()))
    return counts


def step_matrix(frame: pd.DataFrame, max_steps: int) -> pd.DataFrame:
    """People per event (rows) at each step 1..max_steps (columns)."""
    step = frame.groupby("person_id", sort=False).cumcount() + 1
    head = frame.loc[step <= max_steps, ["event"]].assign(step=step[step <= max_steps])
    counts = head.groupby(["event", "step"]).size().unstack(fill_value=0)
    return counts.reindex(columns=range(1, max_steps + 1), fill_value=0)
