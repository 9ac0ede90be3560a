"""Bootstrap confidence intervals over journeys, drawn on the aggregated paths.

A resample draws as many journeys as there are, with replacement, from the observed journeys.
A journey is a path and its outcome, so the resampled data are the distinct paths with new
counts: one multinomial draw over the cells ``(path, converted)`` and ``(path, not
converted)``, with probabilities proportional to their counts. A converting cell's value is its
count times the cell's mean value per conversion. Each resample costs one run of the model on
the distinct paths, never a pass over people.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from touchpath.attribution.paths import ConversionPaths, Floats

Model = Callable[[ConversionPaths], tuple[Floats, Floats]]


def resamples(paths: ConversionPaths, times: int, seed: int) -> list[ConversionPaths]:
    """``times`` bootstrap resamples of ``paths`` (same distinct paths, new counts)."""
    rng = np.random.default_rng(seed)
    cells = np.concatenate([paths.conversions, paths.nulls])
    total = round(float(cells.sum()))
    probabilities = cells / cells.sum()
    mean_value = np.divide(paths.value, paths.conversions, out=np.zeros(len(paths)),
                           where=paths.conversions > 0)
    out = []
    for _ in range(times):
        drawn = rng.multinomial(total, probabilities).astype(np.float64)
        conversions, nulls = drawn[:len(paths)], drawn[len(paths):]
        out.append(paths.with_counts(conversions, conversions * mean_value, nulls))
    return out


def intervals(paths: ConversionPaths, model: Model, times: int, seed: int,
              confidence: float) -> tuple[Floats, Floats, Floats, Floats]:
    """Percentile intervals (``confidence``, two-sided) of the conversions and value ``model``
    attributes to each channel: ``(conversions_low, conversions_high, value_low,
    value_high)``."""
    conversions = []
    values = []
    for sample in resamples(paths, times, seed):
        got_conversions, got_value = model(sample)
        conversions.append(got_conversions)
        values.append(got_value)
    tail = (1.0 - confidence) / 2.0 * 100.0
    c = np.percentile(np.array(conversions), [tail, 100.0 - tail], axis=0)
    v = np.percentile(np.array(values), [tail, 100.0 - tail], axis=0)
    return c[0], c[1], v[0], v[1]
