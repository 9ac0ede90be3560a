"""Multi-touch attribution: which touchpoints earn the conversions.

Conversion paths are built from an event source in the engine
(:mod:`touchpath.attribution.query`), aggregated to distinct paths with counts
(:class:`ConversionPaths`), and shared out by rule-based models (:mod:`.rules`), an exact
Markov chain (:mod:`.markov`) and Shapley values (:mod:`.shapley`), with bootstrap intervals
(:mod:`.bootstrap`) and spend (:mod:`.spend`). Importing this package registers the
``attribution`` analysis. The rules are in ``docs/attribution.md``.
"""

from touchpath.attribution.analysis import AttributionResult, attribute, run_attribution
from touchpath.attribution.markov import MarkovAttribution, markov_attribution
from touchpath.attribution.paths import ConversionPaths
from touchpath.attribution.spec import MODELS, AttributionSpec

__all__ = [
    "MODELS",
    "AttributionResult",
    "AttributionSpec",
    "ConversionPaths",
    "MarkovAttribution",
    "attribute",
    "markov_attribution",
    "run_attribution",
]
