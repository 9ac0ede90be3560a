"""The attribution spec: which conversion, which touchpoints, which models.

A frozen dataclass like every analysis spec (:mod:`touchpath.analytics.codec` reads and writes
it as JSON, naming the field of a bad value). The rules each field stands for are in
``docs/attribution.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from touchpath.analytics.codec import check_int
from touchpath.analytics.filters import EventMatcher, Filters, PropertyFilter
from touchpath.errors import ValidationError

Model = Literal[
    "first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based",
    "participation", "markov", "shapley", "shapley_rate",
]
MODELS: tuple[str, ...] = get_args(Model)
DATA_DRIVEN = ("markov", "shapley", "shapley_rate")
"""The models the bootstrap gives confidence intervals for."""
DEFAULT_MODELS: tuple[Model, ...] = (
    "first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based",
    "markov", "shapley",
)
NO_TOUCH = "(none)"
"""The touchpoint of a conversion that had none in its lookback window."""
MAX_MARKOV_ORDER = 4
MAX_RATE_CHANNELS = 20
"""``shapley_rate`` keeps one number per coalition: 2^20 of them at most."""


@dataclass(frozen=True)
class AttributionSpec:
    """Multi-touch attribution: how much of ``conversion`` each touchpoint earns.

    ``touchpoint`` names what a touch is: ``channel`` (default), ``source``, ``utm_source``,
    ``utm_medium``, ``utm_campaign`` or any event property (``properties.ad_group``,
    ``context.campaign.name``), the names filters use. ``touches="session"`` takes one touch
    per session (the touchpoint of its first event that has one, like Google Analytics'
    session channel); ``"event"`` every event that has one. ``touch_events`` narrows which
    events may be touches. ``value`` is what a conversion is worth (``revenue`` or a
    property; None counts conversions only).

    >>> AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue",
    ...                 models=("last_touch", "markov"))                 # doctest: +SKIP
    """

    conversion: EventMatcher
    touchpoint: str = "channel"
    touches: Literal["session", "event"] = "session"
    touch_events: EventMatcher | None = None
    value: str | None = None
    lookback_days: int = 30
    collapse_repeats: bool = False
    models: tuple[Model, ...] = DEFAULT_MODELS
    half_life_days: float = 7.0
    position_weights: tuple[float, float] = (0.4, 0.4)
    direct: tuple[str, ...] = ("direct",)
    markov_order: int = 1
    bootstrap: int = 0
    confidence: float = 0.95
    seed: int = 0
    spend: str | None = None
    session_timeout_seconds: int = 30 * 60
    filters: Filters = field(default_factory=Filters)

    def __post_init__(self) -> None:
        _check_property(self.touchpoint, "touchpoint")
        if self.value is not None:
            _check_property(self.value, "value")
        if self.touches not in ("session", "event"):
            raise ValidationError(f"must be 'session' or 'event', got {self.touches!r}",
                                  field="touches")
        check_int(self.lookback_days, "lookback_days", 1, 3650)
        if not self.models:
            raise ValidationError("needs at least one model", field="models")
        for i, model in enumerate(self.models):
            if model not in MODELS:
                raise ValidationError(f"unknown model {model!r}; models: {', '.join(MODELS)}",
                                      field=f"models[{i}]")
            if model in self.models[:i]:
                raise ValidationError(f"{model!r} is listed twice", field=f"models[{i}]")
        _check_positive(self.half_life_days, "half_life_days")
        first, last = self.position_weights
        for i, weight in enumerate(self.position_weights):
            if not _is_number(weight) or not 0 <= weight <= 1:
                raise ValidationError(f"must be a share between 0 and 1, got {weight!r}",
                                      field=f"position_weights[{i}]")
        if first + last > 1 + 1e-12:
            raise ValidationError(f"first and last shares add up to {first + last:g}, more "
                                  "than 1", field="position_weights")
        for i, name in enumerate(self.direct):
            if not isinstance(name, str) or not name:
                raise ValidationError("needs a touchpoint value", field=f"direct[{i}]")
        check_int(self.markov_order, "markov_order", 1, MAX_MARKOV_ORDER)
        check_int(self.bootstrap, "bootstrap", 0, 10_000)
        if not _is_number(self.confidence) or not 0 < self.confidence < 1:
            raise ValidationError(f"must be between 0 and 1, got {self.confidence!r}",
                                  field="confidence")
        check_int(self.seed, "seed", 0, 2**32 - 1)
        if self.spend is not None and (not isinstance(self.spend, str) or not self.spend):
            raise ValidationError("needs a CSV or Parquet file path", field="spend")
        check_int(self.session_timeout_seconds, "session_timeout_seconds", 1, None)


def _check_property(name: object, field_name: str) -> None:
    if not isinstance(name, str):
        raise ValidationError(f"expected a property name, got {name!r}", field=field_name)
    try:
        PropertyFilter(name, "is_set").check_event_property()
    except ValidationError as exc:
        raise ValidationError(exc.message, field=field_name) from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_positive(value: object, name: str) -> None:
    if not _is_number(value) or value <= 0:  # type: ignore[operator]
        raise ValidationError(f"must be a positive number, got {value!r}", field=name)
