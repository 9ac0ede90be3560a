"""The models on aggregated paths: conservation, the plain reference, brute-force Shapley, and
the published Markov example."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.attribution import reference
from touchpath.analytics.filters import EventMatcher
from touchpath.attribution import AttributionSpec, ConversionPaths, attribute, markov_attribution
from touchpath.attribution import shapley as shapley_module
from touchpath.attribution.analysis import model_function
from touchpath.attribution.bootstrap import intervals, resamples
from touchpath.attribution.spec import MODELS
from touchpath.errors import ValidationError

CHANNELS = ("a", "b", "c", "d", "e")
SPEC = AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue")
PATH_MODELS = tuple(m for m in MODELS if m != "time_decay")


@st.composite
def path_records(draw: st.DrawFn, channels: tuple[str, ...] = CHANNELS, max_paths: int = 12
                 ) -> list[tuple[tuple[str, ...], float, float, float]]:
    """Random aggregated paths with at least one conversion."""
    rows = draw(st.lists(st.tuples(
        st.lists(st.sampled_from(channels), min_size=1, max_size=5).map(tuple),
        st.integers(0, 6), st.integers(0, 500), st.integers(0, 6)), min_size=1,
        max_size=max_paths))
    assume(sum(r[1] for r in rows) > 0)
    return [(path, float(conv), float(value) if conv else 0.0, float(nulls))
            for path, conv, value, nulls in rows]


def by_channel(paths: ConversionPaths, values: np.ndarray) -> dict[str, float]:
    return {name: float(v) for name, v in zip(paths.channels, values, strict=True)}


def close(got: dict[str, float], want: dict[str, float], tolerance: float = 1e-9) -> None:
    for key in set(got) | set(want):
        assert got.get(key, 0.0) == pytest.approx(want.get(key, 0.0), abs=tolerance,
                                                  rel=tolerance), key


@settings(max_examples=80, deadline=None)
@given(path_records(), st.sampled_from(PATH_MODELS), st.floats(0, 0.5), st.floats(0, 0.5))
def test_every_model_but_participation_shares_out_exactly_the_conversions(
        records: list[Any], model: str, first: float, last: float) -> None:
    spec = AttributionSpec(conversion=EventMatcher("x"), value="revenue",
                           position_weights=(first, last), direct=("a",))
    paths = ConversionPaths.from_records(records)
    conversions, value = model_function(model, spec)(paths)
    if model == "participation":
        # each path's conversions count once for every distinct channel it holds
        assert conversions.sum() == pytest.approx(
            sum(r[1] * len(set(r[0])) for r in records))
        return
    assert conversions.sum() == pytest.approx(paths.total_conversions, rel=1e-9)
    assert value.sum() == pytest.approx(paths.total_value, rel=1e-9, abs=1e-9)
    if model != "shapley_rate":  # the rate game's values may be negative
        assert (conversions >= -1e-12).all()


@settings(max_examples=60, deadline=None)
@given(path_records(), st.sampled_from(("first_touch", "last_touch", "last_non_direct",
                                        "linear", "position_based", "participation",
                                        "shapley")))
def test_rule_models_and_simplified_shapley_match_the_reference(records: list[Any],
                                                                model: str) -> None:
    spec = AttributionSpec(conversion=EventMatcher("x"), value="revenue", direct=("a", "b"),
                           position_weights=(0.3, 0.5))
    paths = ConversionPaths.from_records(records)
    conversions, value = model_function(model, spec)(paths)
    found = [reference.Journey(path, [0.0] * len(path), True, val / conv)
             for path, conv, val, _ in records for _ in range(int(conv))]
    want_conversions, want_value = reference.rule_credit(found, model, spec)
    close(by_channel(paths, conversions), want_conversions)
    close(by_channel(paths, value), want_value, 1e-7)


@settings(max_examples=60, deadline=None)
@given(path_records(max_paths=8), st.integers(1, 3))
def test_markov_removal_effects_match_value_iteration(records: list[Any], order: int) -> None:
    paths = ConversionPaths.from_records(records)
    got = markov_attribution(paths, order)
    aggregated = reference.aggregate([])  # the reference's own aggregation of the records
    for path, conv, val, nulls in records:
        counts = aggregated.setdefault(path, [0.0, 0.0, 0.0])
        counts[0] += conv
        counts[1] += val
        counts[2] += nulls
    effects, value_effects, probability = reference.removal_effects(aggregated, order)
    assert got.conversion_probability == pytest.approx(probability, rel=1e-9)
    close(by_channel(paths, got.removal_effects), effects, 1e-8)
    close(by_channel(paths, got.value_removal_effects), value_effects, 1e-8)
    want_conversions, want_value = reference.markov_credit(aggregated, order)
    close(by_channel(paths, got.conversions), want_conversions, 1e-8)
    close(by_channel(paths, got.value), want_value, 1e-7)


def test_markov_matches_the_published_worked_example() -> None:
    """Sergey Bryl, "Marketing Multi-Channel Attribution model with R (part 1: Markov chains
    concept)", analyzecore.com, 2016-08-03: paths C1 > C2 > C3 (converted), C1 and C2 > C3 (not);
    P(conversion) = 1/3, 1/6 without C1; removal effects C1 0.5, C2 1, C3 1; one conversion
    attributed 0.2 / 0.4 / 0.4 (also the test values of the markovattribution npm package)."""
    paths = ConversionPaths.from_records([(("C1", "C2", "C3"), 1, 1000.0, 0),
                                          (("C1",), 0, 0.0, 1), (("C2", "C3"), 0, 0.0, 1)])
    got = markov_attribution(paths)
    assert got.conversion_probability == pytest.approx(1 / 3)
    assert by_channel(paths, got.removal_effects) == pytest.approx(
        {"C1": 0.5, "C2": 1.0, "C3": 1.0})
    assert by_channel(paths, got.conversions) == pytest.approx(
        {"C1": 0.2, "C2": 0.4, "C3": 0.4})
    assert by_channel(paths, got.value) == pytest.approx({"C1": 200, "C2": 400, "C3": 400})


CA_DATA = os.environ.get("ATTRIBUTION_CA_DATA")


@pytest.mark.skipif(not CA_DATA, reason="set ATTRIBUTION_CA_DATA to ChannelAttribution's "
                    "Data.csv (GPL-3, not shipped here) to run")
def test_markov_on_channelattribution_sample_data_matches_value_iteration() -> None:
    """ChannelAttribution's sample journeys (``src/cypack/data/Data.csv`` of its source
    distribution, 10,000 paths over 12 channels): the exact solution against the plain
    value-iteration reference, order 1 and 2."""
    frame = pd.read_csv(str(CA_DATA), sep=";")
    paths = ConversionPaths.from_frame(frame, conversions="total_conversions",
                                       value="total_conversion_value", nulls="total_null")
    aggregated = {paths.path(i): [float(paths.conversions[i]), float(paths.value[i]),
                                  float(paths.nulls[i])] for i in range(len(paths))}
    for order in (1, 2):
        got = markov_attribution(paths, order)
        effects, value_effects, probability = reference.removal_effects(aggregated, order)
        assert got.conversion_probability == pytest.approx(probability, rel=1e-9)
        close(by_channel(paths, got.removal_effects), effects, 1e-8)
        close(by_channel(paths, got.value_removal_effects), value_effects, 1e-8)


@settings(max_examples=40, deadline=None)
@given(path_records(max_paths=10))
def test_shapley_matches_brute_force_enumeration(records: list[Any]) -> None:
    paths = ConversionPaths.from_records(records)
    aggregated = {paths.path(i): [float(paths.conversions[i]), float(paths.value[i]),
                                  float(paths.nulls[i])] for i in range(len(paths))}
    players = list(paths.channels)
    conversions, value = shapley_module.simplified(paths)
    close(by_channel(paths, conversions),
          reference.shapley_brute_force(players, reference.subset_game(aggregated, 0)))
    close(by_channel(paths, value),
          reference.shapley_brute_force(players, reference.subset_game(aggregated, 1)), 1e-7)

    rate_conversions, rate_value = shapley_module.rate(paths)
    for got, column, total in ((rate_conversions, 0, paths.total_conversions),
                               (rate_value, 1, paths.total_value)):
        game = reference.rate_game(aggregated, column)
        phi = reference.shapley_brute_force(players, game)
        grand = game(frozenset(players))
        want = {k: v * total / grand if grand else 0.0 for k, v in phi.items()}
        close(by_channel(paths, got), want, 1e-7)


def test_zeta_and_mobius_are_inverse_and_match_subset_sums() -> None:
    rng = np.random.default_rng(3)
    values = rng.random(1 << 5)
    summed = shapley_module.zeta(values, 5)
    assert summed[0b10110] == pytest.approx(sum(values[m] for m in range(32)
                                                if m & 0b10110 == m))
    assert shapley_module.mobius(summed, 5) == pytest.approx(values)


def test_shapley_rate_refuses_more_than_twenty_channels() -> None:
    paths = ConversionPaths.from_records([((f"c{i}",), 1, 0.0, 1) for i in range(21)])
    with pytest.raises(ValidationError) as caught:
        shapley_module.rate(paths)
    assert caught.value.field == "models"
    assert "21" in caught.value.message


def test_higher_order_markov_differs_from_order_one_where_order_matters() -> None:
    # a > b converts, b > a does not: order 1 cannot tell a's role from b's, order 2 can
    paths = ConversionPaths.from_records([(("a", "b"), 10, 0.0, 0), (("b", "a"), 0, 0.0, 10),
                                          (("c",), 5, 0.0, 5)])
    first, second = markov_attribution(paths, 1), markov_attribution(paths, 2)
    # by hand, order 1: x(b) = 1/2 + x(a)/2, x(a) = x(b)/2, so x(b) = 2/3, x(a) = 1/3 and
    # P = (1/3 + 2/3 + 1/2) / 3 = 1/2; without a 1/3, without b 1/6, without c 1/3: removal
    # effects 1/3, 2/3, 1/3 share 15 conversions 3.75 / 7.5 / 3.75
    assert first.conversion_probability == pytest.approx(0.5)
    assert first.conversions == pytest.approx([3.75, 7.5, 3.75])
    # order 2: a > b is its own state; removing a or b kills the 10 conversions of a > b
    # (removal effect 2/3 each), removing c its 5 (1/3): 6 / 6 / 3
    assert second.conversion_probability == pytest.approx(0.5)
    assert second.conversions == pytest.approx([6.0, 6.0, 3.0])


def test_bootstrap_resamples_keep_the_journeys_and_the_intervals_cover_the_estimate() -> None:
    paths = ConversionPaths.from_records([(("a", "b"), 40, 4000.0, 60), (("b",), 30, 900.0, 70),
                                          (("c", "a"), 10, 100.0, 90)])
    for sample in resamples(paths, 20, seed=1):
        assert sample.conversions.sum() + sample.nulls.sum() == 300
    low, high, value_low, value_high = intervals(
        paths, shapley_module.simplified, 200, seed=1, confidence=0.9)
    estimate, value = shapley_module.simplified(paths)
    assert (low <= estimate + 1e-9).all() and (estimate <= high + 1e-9).all()
    assert (value_low <= value + 1e-9).all() and (value <= value_high + 1e-9).all()
    assert (high - low > 0).all()
    again = intervals(paths, shapley_module.simplified, 200, seed=1, confidence=0.9)
    assert np.array_equal(again[0], low)


def test_attribute_needs_the_engine_for_time_decay_and_a_conversion() -> None:
    paths = ConversionPaths.from_records([(("a",), 1, 5.0, 0)])
    with pytest.raises(ValidationError) as caught:
        attribute(paths, AttributionSpec(conversion=EventMatcher("x"), models=("time_decay",)))
    assert caught.value.field == "models"
    empty = ConversionPaths.from_records([(("a",), 0, 0.0, 3)])
    with pytest.raises(ValidationError) as caught:
        attribute(empty, SPEC)
    assert caught.value.field == "conversion"


def test_spend_gives_cost_per_acquisition_and_roas(tmp_path: Path) -> None:
    paths = ConversionPaths.from_records([(("email",), 4, 400.0, 6), (("paid_social",), 2,
                                                                     100.0, 8)])
    spend = pd.DataFrame({"channel": ["email", "paid_social", "paid_social", "display"],
                          "date": ["2026-01-05", "2026-01-10", "2025-12-31", "2026-01-02"],
                          "cost": [40.0, 50.0, 999.0, 10.0]})
    spec = AttributionSpec(conversion=EventMatcher("x"), value="revenue",
                           models=("last_touch",),
                           filters=_january())
    rows = attribute(paths, spec, spend=spend).frame.set_index("touchpoint")
    assert rows.loc["email", "cpa"] == pytest.approx(10.0)
    assert rows.loc["email", "roas"] == pytest.approx(10.0)
    assert rows.loc["paid_social", "cost"] == pytest.approx(50.0)  # December left out
    assert rows.loc["paid_social", "cpa"] == pytest.approx(25.0)
    assert rows.loc["paid_social", "roas"] == pytest.approx(2.0)

    file = tmp_path / "spend.csv"
    spend.to_csv(file, index=False)
    from_file = attribute(paths, AttributionSpec(
        conversion=EventMatcher("x"), value="revenue", models=("last_touch",),
        filters=_january(), spend=str(file))).frame
    pd.testing.assert_frame_equal(from_file, attribute(paths, spec, spend=spend).frame)
    spend.to_parquet(tmp_path / "spend.parquet")
    from_parquet = attribute(paths, AttributionSpec(
        conversion=EventMatcher("x"), value="revenue", models=("last_touch",),
        filters=_january(), spend=str(tmp_path / "spend.parquet"))).frame
    pd.testing.assert_frame_equal(from_parquet, from_file)


def test_bad_spend_tables_name_what_is_missing(tmp_path: Path) -> None:
    paths = ConversionPaths.from_records([(("email",), 4, 400.0, 6)])
    spec = AttributionSpec(conversion=EventMatcher("x"), models=("last_touch",))
    for table, words in ((pd.DataFrame({"medium": ["email"], "cost": [1.0]}), "'channel'"),
                         (pd.DataFrame({"channel": ["email"], "spend": [1.0]}), "'cost'"),
                         (pd.DataFrame({"channel": ["email"], "cost": ["lots"]}), "row 1")):
        with pytest.raises(ValidationError) as caught:
            attribute(paths, spec, spend=table)
        assert caught.value.field == "spend"
        assert words in caught.value.message
    with pytest.raises(ValidationError) as caught:
        attribute(paths, AttributionSpec(conversion=EventMatcher("x"), models=("last_touch",),
                                         spend=str(tmp_path / "missing.csv")))
    assert caught.value.field == "spend"


def _january() -> Any:
    from datetime import date

    from touchpath.analytics.filters import DateRange, Filters

    return Filters(date_range=DateRange(date(2026, 1, 1), date(2026, 1, 31)))


@settings(max_examples=30, deadline=None)
@given(path_records(max_paths=12), st.integers(1, 3))
def test_the_iterative_solver_for_large_chains_gives_the_lu_answer(
        records: list[Any], order: int) -> None:
    import sys

    module = sys.modules["touchpath.attribution.markov"]
    paths = ConversionPaths.from_records(records)
    direct = markov_attribution(paths, order)
    saved = module.DIRECT_STATES
    module.DIRECT_STATES = 0  # every chain through the iteration
    try:
        iterative = markov_attribution(paths, order)
    finally:
        module.DIRECT_STATES = saved
    assert iterative.conversion_probability == pytest.approx(direct.conversion_probability,
                                                             rel=1e-11)
    assert iterative.removal_effects == pytest.approx(direct.removal_effects, abs=1e-11)
    assert iterative.conversions == pytest.approx(direct.conversions, rel=1e-10, abs=1e-10)


@settings(max_examples=50, deadline=None)
@given(path_records(channels=("a", "b", "ab", "é", "(none)")), st.booleans())
def test_paths_from_arrow_equal_paths_from_records(records: list[Any], empty: bool) -> None:
    import pyarrow as pa

    merged = ConversionPaths.from_records(records)
    rows = [(merged.path(i), merged.conversions[i], merged.value[i], merged.nulls[i])
            for i in range(len(merged))]
    if empty:  # a conversion with no touch arrives as NULL (or as an empty list)
        rows.append((None, 2.0, 7.0, 0.0))
    table = pa.table({"path": [list(r[0]) if r[0] is not None else None for r in rows],
                      "conversions": [r[1] for r in rows], "value": [r[2] for r in rows],
                      "nulls": [r[3] for r in rows]})
    got = ConversionPaths.from_arrow(table)
    want = ConversionPaths.from_records(
        [(r[0] or (), r[1], r[2], r[3]) for r in rows])
    assert got.channels == want.channels
    assert np.array_equal(got.offsets, want.offsets)
    assert np.array_equal(got.touches, want.touches)
    for name in ("conversions", "value", "nulls"):
        assert np.allclose(getattr(got, name), getattr(want, name))


@settings(max_examples=30, deadline=None)
@given(path_records(), st.data())
def test_subset_and_top_paths_keep_each_path_with_its_counts(records: list[Any],
                                                             data: st.DataObject) -> None:
    paths = ConversionPaths.from_records(records)
    rows = np.array(data.draw(st.lists(st.integers(0, len(paths) - 1), max_size=6)),
                    dtype=np.int64)
    part = paths.subset(rows)
    assert [part.path(i) for i in range(len(part))] == [paths.path(int(r)) for r in rows]
    assert np.array_equal(part.nulls, paths.nulls[rows])
    top = attribute(paths, AttributionSpec(conversion=EventMatcher("x"),
                                           models=("linear",))).paths
    journeys = sorted((-(c + n), -c) for _, c, _, n in
                      [(paths.path(i), paths.conversions[i], 0, paths.nulls[i])
                       for i in range(len(paths))])[:len(top)]
    assert list(zip(-top["journeys"], -top["conversions"], strict=True)) == journeys


def test_state_compaction_by_lookup_and_by_sort_agree() -> None:
    import sys

    module = sys.modules["touchpath.attribution.markov"]
    codes = np.array([7, 3, 7, 12, 3, 0], dtype=np.int64)
    by_lookup = module._compact(codes, 16)
    by_sort = module._compact(codes, 1 << 30)
    for got in (by_lookup, by_sort):
        assert got[0].tolist() == [0, 3, 7, 12]
        assert got[1].tolist() == [2, 1, 2, 3, 1, 0]
