"""One example spec per analysis, on the demo data: the surfaces (CLI, REST) are checked to
answer the same numbers as the Python API for each."""

from __future__ import annotations

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
}


def rounded(value: Any, digits: int = 9) -> Any:
    """``value`` (JSON) with every float rounded to ``digits`` significant digits: engines sum
    floats in no fixed order, so two runs can differ in the last bits (attribution's value
    removal effects do)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value
