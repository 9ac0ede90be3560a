"""One example spec per analysis, on the demo data: the surfaces (CLI, REST) are checked to
answer the same numbers as the Python API for each."""

from __future__ import annotations

import math
from typing import Any

EXAMPLES: dict[str, dict[str, Any]] = {
    "funnel": {
        "steps": [{"event": "Product Viewed"}, {"event": "Product Added"},
                  {"event": "Checkout Started"}, {"event": "Order Completed"}],
        "window_seconds": 7 * 86400,
        "breakdown": {"property": "initial_channel", "source": "person"},
    },
    "paths": {"start": {"event": "Product Viewed"}, "max_steps": 4, "top": 10},
    "retention": {"cohort_event": {"event": "Order Completed"}, "period": "month",
                  "periods": 4, "mode": "on_or_after"},
    "stages": {"model": "default", "period": "month"},
    "lifecycle": {"period": "month"},
    "sessions": {"period": "month"},
    "satisfaction": {"metric": "csat", "breakdown": "touchpoint"},
    "drivers": {"metric": "nps"},
    "themes": {"by": ["band"]},
    "attribution": {"conversion": {"event": "Order Completed"}, "value": "revenue",
                    "models": ["first_touch", "last_touch", "linear", "markov", "shapley"]},
    "clv": {"calibration_end": "2026-04-30", "horizon_days": 180},
    "journey_map": {"model": "default", "top": 3},
}


def same(a: Any, b: Any, rel: float = 1e-5) -> bool:
    """Equal JSON values, floats within ``rel``: engines sum floats in no fixed order, so two
    runs can differ in the last bits (attribution's value removal effects), and a model fitted
    to such sums by an optimiser differs more (CLV's parameters, ~1e-7 relative)."""
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9) or (a != a and b != b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b, strict=True))
    return bool(a == b)
