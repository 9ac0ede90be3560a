"""The journey map's spec: which stage model, which events make the checkout, which count as
problems and as ad or e-mail impressions and clicks; the usual filters narrow it (segment,
persona, channel, period)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from touchpath.analytics.codec import check_int
from touchpath.analytics.filters import EventMatcher, Filters
from touchpath.analytics.funnels import FunnelStep
from touchpath.errors import ValidationError
from touchpath.journey import stages as journey

Language = Literal["en", "he", "ar"]

CHECKOUT = ("Checkout Started", "Checkout Step Completed", "Payment Info Entered",
            "Order Completed")
"""The Segment e-commerce spec's checkout, the default checkout funnel (the steps a store
has: a step whose event the store never saw is left out)."""
PROBLEMS = ("Support Ticket Opened", "Order Refunded", "Product Returned", "Order Cancelled")
"""Events that signal a problem: tickets, refunds, returns, cancellations."""


@dataclass(frozen=True)
class ClickRate:
    """A click-through rate: ``click`` events over ``impression`` events, per stage."""

    label: str
    impression: EventMatcher
    click: EventMatcher

    def __post_init__(self) -> None:
        if not self.label:
            raise ValidationError("needs a label", field="label")


CLICK_RATES = (
    ClickRate("email", EventMatcher("Email Delivered"), EventMatcher("Email Link Clicked")),
    ClickRate("ads", EventMatcher(("Ad Impression", "Promotion Viewed")),
              EventMatcher(("Ad Clicked", "Promotion Clicked"))),
)
"""The default rates: e-mail (Segment's e-mail events) and ads/promotions (Segment's
e-commerce promotion events); a rate whose impressions the store lacks is left out."""


@dataclass(frozen=True)
class JourneyMapSpec:
    """A journey map.

    ``model``: a stage template name or a model. ``language``: of stage names. ``top``: items
    per lane and stage. ``checkout``: the checkout funnel's steps (empty: :data:`CHECKOUT`,
    the steps the store has). ``problems``: events counted as problems per stage (empty:
    :data:`PROBLEMS` the store has). ``click_rates``: empty for :data:`CLICK_RATES`.
    ``window_seconds``: the checkout funnel's conversion window. ``min_n``: the fewest people
    (or answers) a segment or touchpoint needs before it can be called a pain point, and
    below which an emotion point is flagged as a small sample. ``return_days``: the stage
    KPI "returned" counts people active again 1 to ``return_days`` (2 to 366) days after
    entering.
    """

    model: journey.StageModel | str = "default"
    language: Language = "en"
    top: int = 5
    checkout: tuple[FunnelStep, ...] = ()
    problems: tuple[EventMatcher, ...] = ()
    click_rates: tuple[ClickRate, ...] = ()
    window_seconds: int = 7 * 86400
    min_n: int = 30
    return_days: int = 30
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        journey.check_template(self.model)
        check_int(self.top, "top", 1, 50)
        check_int(self.window_seconds, "window_seconds", 1, 366 * 86400)
        check_int(self.min_n, "min_n", 1, 1_000_000)
        check_int(self.return_days, "return_days", 2, 366)  # 1: an empty window (1 to 1)
        if len(self.checkout) == 1:
            raise ValidationError("a checkout needs at least two steps (or none, for the "
                                  "default)", field="checkout")
        labels = [r.label for r in self.click_rates]
        if len(set(labels)) != len(labels):
            raise ValidationError("click rate labels must differ", field="click_rates")

    @property
    def stage_model(self) -> journey.StageModel:
        return journey.model_of(self.model)
