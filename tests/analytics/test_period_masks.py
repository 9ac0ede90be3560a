"""Period masks: every bit of every word, on DuckDB, against the periods they stand for."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpath.analytics import _period_masks as masks


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, masks.MASK_WORDS
                                                          * masks.MASK_BITS - 1)),
                min_size=1, max_size=60))
def test_the_bits_are_the_periods(rows: list[tuple[int, int]]) -> None:
    # a 32-bit period number, as a month index is: the shifts must still be 64-bit
    table = ibis.memtable(pd.DataFrame(rows, columns=["person", "p"]).astype("int32"))
    first = int(min(p for _, p in rows))
    words = masks.words_for(first, max(p for _, p in rows))
    assert words is not None
    per_person = table.group_by("person").agg(
        **masks.mask_aggregates(table.p, first, words)).order_by("person").to_pandas()
    matrix = masks.word_matrix(per_person, words)
    for i, person in enumerate(per_person["person"]):
        want = {p - first for who, p in rows if who == person}
        span = range(masks.MASK_WORDS * masks.MASK_BITS + 2)
        got = {at for at in span if masks.bit_column(matrix[i:i + 1], at)[0]}
        assert got == want
        assert masks.bits_at(matrix[i:i + 1], np.array([max(want)]))[0]
        assert masks.last_bits(matrix[i:i + 1])[0] == max(want)


def test_a_span_longer_than_the_words_is_refused() -> None:
    assert masks.words_for(10, 10) == 1
    assert masks.words_for(0, masks.MASK_BITS) == 2
    assert masks.words_for(0, masks.MASK_WORDS * masks.MASK_BITS - 1) == masks.MASK_WORDS
    assert masks.words_for(0, masks.MASK_WORDS * masks.MASK_BITS) is None
