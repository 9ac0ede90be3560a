"""Customer lifetime value: purchase summaries, BG/NBD, Pareto/NBD and Gamma-Gamma models fitted
by maximum likelihood, predictions, and the registered ``clv`` analysis (``docs/clv.md``).

Importing this package registers the analysis.
"""

from touchpath.value.analysis import CLVResult, CLVSpec, NamedSegment, run_clv
from touchpath.value.bgnbd import BGNBDModel
from touchpath.value.clv import Horizon, predict
from touchpath.value.gammagamma import GammaGammaModel
from touchpath.value.paretonbd import ParetoNBDModel
from touchpath.value.summary import PurchaseSummary, purchase_summary

__all__ = [
    "BGNBDModel",
    "CLVResult",
    "CLVSpec",
    "GammaGammaModel",
    "Horizon",
    "NamedSegment",
    "ParetoNBDModel",
    "PurchaseSummary",
    "predict",
    "purchase_summary",
    "run_clv",
]
