"""The analytics benchmark's code path at a few thousand events (nothing is timed).

The pandas peer is written without touchpath, so it is a second reference: on the demo data it
must give touchpath's funnel counts (with the 7-day window and without) and step matrix, from
the store and from the Parquet file. The peer itself is checked on a hand-made log first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from benchmarks.peers import pandas_peer

from benchmarks import analytics_speed as bench

T0 = datetime(2026, 1, 5)
DAY = timedelta(days=1)


def _hand_log(path: Path) -> Path:
    rows = [  # person, time, message id, event
        ("p1", T0, "m1", "A"),
        ("p1", T0, "m0", "B"),  # same time as A, smaller id: before A, so not after it
        ("p1", T0 + 3 * DAY, "m2", "B"),
        ("p1", T0 + 7 * DAY, "m3", "C"),  # exactly 7 days after A: inside (bound included)
        ("p2", T0, "m4", "A"),
        ("p2", T0 + 7 * DAY + timedelta(seconds=1), "m5", "B"),  # one second too late
        ("p2", T0 + 8 * DAY, "m6", "A"),  # a second attempt
        ("p2", T0 + 9 * DAY, "m7", "B"),
        ("p2", T0 + 20 * DAY, "m8", "C"),  # 12 days after the second A
        ("p3", T0 + DAY, "m9", "B"),
        ("p3", T0 + 2 * DAY, "m10", "C"),
    ]
    frame = pd.DataFrame(rows, columns=["person_id", "timestamp", "message_id", "event"])
    frame.to_parquet(path / "hand.parquet")
    return path / "hand.parquet"


def test_pandas_peer_on_a_hand_checked_log(tmp_path: Path) -> None:
    frame = pandas_peer.load(_hand_log(tmp_path))
    # p1 reaches C (B at day 3, C at day 7); p2's best attempt is the second one, which
    # reaches B only; p3 never does A.
    assert pandas_peer.funnel(frame, ["A", "B", "C"], timedelta(days=7)) == [2, 2, 1]
    # without a window p2's first attempt goes A, B (7 days + 1 s), C (day 20)
    assert pandas_peer.funnel(frame, ["A", "B", "C"], None) == [2, 2, 2]
    # in order: p1 B A B C; p2 A B A B C; p3 B C
    matrix = pandas_peer.step_matrix(frame, 3)
    assert matrix.loc["A"].tolist() == [1, 1, 1]
    assert matrix.loc["B"].tolist() == [2, 1, 1]
    assert matrix.loc["C"].tolist() == [0, 1, 0]


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> bench.Dataset:
    data = bench.Dataset(tmp_path_factory.mktemp("bench"))
    bench.prepare(data, people=500, seed=7)
    return data


def test_demo_dataset_is_the_store_and_its_parquet(small_demo: bench.Dataset) -> None:
    info = small_demo.info
    assert info["events"] > 4000
    assert info["persons"] > 400
    assert len(pd.read_parquet(small_demo.parquet, columns=["event"])) == info["events"]
    floor = bench.measure_floor(small_demo, repeat=1)
    assert floor["answer"] == [info["events"], info["persons"]]


def test_touchpath_and_the_pandas_peer_agree(small_demo: bench.Dataset) -> None:
    theirs = bench.measure_pandas(small_demo)["answer"]
    assert theirs["funnel"][-1] > 0  # the demo converts, so the comparison means something
    for how in ("table", "view"):
        ours = bench.measure_touchpath_parquet(small_demo, how)["answer"]
        assert ours["funnel"] == theirs["funnel"], how
        assert ours["funnel_no_window"] == theirs["funnel_no_window"], how
    from_store = bench.measure_case(small_demo, "funnel4", repeat=1)
    assert from_store["answer"] == theirs["funnel"]
    assert bench.nonzero(ours["step_matrix"]) == bench.nonzero(theirs["step_matrix"])


def test_copies_are_disjoint_populations_with_the_same_behaviour(
        small_demo: bench.Dataset) -> None:
    twice = bench.copied(small_demo, 2)
    info = twice.info
    assert info["events"] == 2 * small_demo.info["events"]
    assert info["persons"] == 2 * small_demo.info["persons"]
    assert bench.copied(small_demo, 2) == twice  # made once
    once = bench.measure_case(small_demo, "funnel4", repeat=1)["answer"]
    doubled = bench.measure_case(twice, "funnel4", repeat=1)["answer"]
    assert doubled == [2 * n for n in once]
