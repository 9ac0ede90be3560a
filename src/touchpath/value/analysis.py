"""The ``clv`` analysis: purchase models fitted on the store's purchases, predictions and
customer lifetime value per person, per acquisition channel, journey stage and segment, and a
holdout check a person can read.

>>> from touchpath.value import CLVSpec, run_clv
>>> spec = CLVSpec(calibration_end=date(2026, 3, 31), observation_end=date(2026, 6, 30))
>>> result = run_clv(store, spec)                               # doctest: +SKIP
>>> result.frame                    # CLV per channel / stage / segment   # doctest: +SKIP
>>> result.diagnostics              # predicted vs actual holdout purchases # doctest: +SKIP

The rules in full: ``docs/clv.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from touchpath.analytics.filters import (
    DateRange,
    DidEvent,
    EventMatcher,
    Filters,
    PropertyFilter,
    Segment,
)
from touchpath.analytics.frame import (
    check_events,
    date_bounds,
    person_properties,
    segment_persons,
)
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.errors import QueryError, ValidationError
from touchpath.journey import stages as journey
from touchpath.value.bgnbd import BGNBDModel
from touchpath.value.clv import Horizon, PurchaseModel, predict
from touchpath.value.gammagamma import GammaGammaModel
from touchpath.value.paretonbd import ParetoNBDModel
from touchpath.value.summary import UNIT_DAYS, Period, TimeUnit, purchase_summary

ModelName = Literal["bgnbd", "paretonbd"]
MODELS: dict[str, type[BGNBDModel] | type[ParetoNBDModel]] = {
    "bgnbd": BGNBDModel, "paretonbd": ParetoNBDModel}
TOP_FREQUENCY = 7
"""The holdout check groups customers by calibration frequency 0, 1, ..., 6 and 7+."""
NO_VALUE = "(none)"


@dataclass(frozen=True)
class NamedSegment:
    """A segment to report on by name (people may be in several)."""

    name: str
    segment: Segment

    def __post_init__(self) -> None:
        if not self.name:
            raise ValidationError("needs a name", field="name")


@dataclass(frozen=True)
class CLVSpec:
    """A customer lifetime value analysis.

    ``purchase``: the purchase events (online orders and store receipts are both "Order
    Completed" in the demo); ``value``: the property holding a purchase's value (``None``:
    purchases only, no spend model and no CLV). ``calibration_end`` / ``observation_end``
    (UTC days, included): the models are fitted on purchases up to ``calibration_end`` and
    checked on the holdout after it; without ``calibration_end`` there is no holdout.
    ``period``: purchases of one day (or ISO week) are one transaction; ``time_unit``: the
    unit of recency and age. ``model``: BG/NBD or Pareto/NBD for purchases. CLV runs over
    ``horizon_days`` after ``calibration_end`` in steps of ``step_days``, discounted at
    ``discount_rate`` a year. Results are broken down by each person property of
    ``breakdown`` (``initial_channel``: the acquisition channel), by journey stage (of
    ``stage_model`` as of ``calibration_end``; ``None`` for none) and by ``segments``.
    """

    purchase: EventMatcher = EventMatcher("Order Completed")
    value: str | None = "revenue"
    calibration_end: date | None = None
    observation_end: date | None = None
    period: Period = "day"
    time_unit: TimeUnit = "weeks"
    model: ModelName = "bgnbd"
    horizon_days: int = 365
    step_days: int = 30
    discount_rate: float = 0.10
    breakdown: tuple[str, ...] = ("initial_channel",)
    stage_model: journey.StageModel | str | None = "default"
    segments: tuple[NamedSegment, ...] = ()
    min_repeat_buyers: int = 10
    filters: Filters = field(default_factory=Filters)

    def __post_init__(self) -> None:
        if self.value is not None:
            try:
                PropertyFilter(self.value, "is_set").check_event_property()
            except ValidationError as exc:
                raise ValidationError(exc.message, field="value") from None
        if (self.calibration_end is not None and self.observation_end is not None
                and self.calibration_end > self.observation_end):
            raise ValidationError(f"is after observation_end {self.observation_end}",
                                  field="calibration_end")
        if self.period not in ("day", "week"):
            raise ValidationError(f"must be 'day' or 'week', got {self.period!r}",
                                  field="period")
        if self.time_unit not in UNIT_DAYS:
            raise ValidationError(f"must be 'days' or 'weeks', got {self.time_unit!r}",
                                  field="time_unit")
        if self.model not in MODELS:
            raise ValidationError(f"must be one of {', '.join(MODELS)}, got {self.model!r}",
                                  field="model")
        for name, low in (("horizon_days", 1), ("step_days", 1), ("min_repeat_buyers", 3)):
            number = getattr(self, name)
            if isinstance(number, bool) or not isinstance(number, int) or number < low:
                raise ValidationError(f"must be an integer of at least {low}", field=name)
        if not 0 <= self.discount_rate < 10:
            raise ValidationError("must be a yearly rate in [0, 10) (0.1 for 10%)",
                                  field="discount_rate")
        journey.check_template(self.stage_model, "stage_model",
                               " (or give the model inline, or null)")
        names = [s.name for s in self.segments]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValidationError(f"segment name {name!r} used twice",
                                      field=f"segments[{i}].name")
        for i, prop in enumerate(self.breakdown):
            try:
                PropertyFilter(prop, "is_set")
            except ValidationError as exc:
                raise ValidationError(exc.message, field=f"breakdown[{i}]") from None

    @property
    def horizon(self) -> Horizon:
        return Horizon(self.horizon_days, self.step_days, self.discount_rate)


@dataclass(frozen=True)
class CLVResult(AnalysisResult):
    """``frame``: one row per group (``group``: ``all``, a breakdown property, ``stage`` or
    ``segment``; ``value``) with customers, repeat buyers, mean predicted purchases over the
    horizon, mean P(alive), mean expected spend, mean and total CLV, and the holdout's actual
    and predicted purchases. ``tables``: ``persons`` (one row per customer: the summary,
    predictions and groups), ``diagnostics`` (holdout purchases per calibration frequency
    0..7+, actual vs predicted), ``parameters``."""

    kind: ClassVar[str] = "clv"
    person_tables: ClassVar[tuple[str, ...]] = ("persons",)

    @property
    def persons(self) -> pd.DataFrame:
        return self.tables["persons"]

    @property
    def diagnostics(self) -> pd.DataFrame:
        return self.tables["diagnostics"]

    @property
    def parameters(self) -> pd.DataFrame:
        return self.tables["parameters"]

    def by(self, group: str) -> pd.DataFrame:
        """The rows of :attr:`frame` for one group (``initial_channel``, ``stage``, ...)."""
        rows = self.frame[self.frame["group"] == group]
        return rows.drop(columns="group").reset_index(drop=True)

    def figure(self) -> Any:
        """Left: mean holdout purchases per calibration frequency, actual vs predicted.
        Right: mean CLV per value of the first breakdown (or per stage)."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        diag = self.diagnostics
        groups = [g for g in self.frame["group"].unique() if g != "all"]
        right = self.by(groups[0]) if groups else self.by("all")
        figure = make_subplots(rows=1, cols=2, subplot_titles=(
            "Holdout purchases per customer, by calibration frequency",
            f"Mean CLV by {groups[0] if groups else 'all customers'}"))
        if not diag.empty:
            figure.add_trace(go.Bar(x=diag["frequency"], y=diag["actual_mean"],
                                    name="actual"), row=1, col=1)
            figure.add_trace(go.Bar(x=diag["frequency"], y=diag["predicted_mean"],
                                    name=f"predicted ({self.summary['model']})"),
                             row=1, col=1)
        figure.add_trace(go.Bar(x=right["value"].astype(str), y=right["clv_mean"],
                                name="mean CLV"), row=1, col=2)
        figure.update_layout(barmode="group", title="Customer lifetime value")
        return figure


def _fit(spec: CLVSpec, persons: pd.DataFrame) -> tuple[PurchaseModel, GammaGammaModel | None]:
    repeaters = int((persons["frequency"] > 0).sum())
    if repeaters < spec.min_repeat_buyers:
        raise QueryError(
            f"only {repeaters} of {len(persons)} customers bought again "
            f"({'on another day' if spec.period == 'day' else 'in another week'}) by "
            "calibration_end; fitting {spec.model} needs at least "
            f"{spec.min_repeat_buyers} repeat buyers: widen the date range, move "
            "calibration_end later or choose period 'day'", field="calibration_end")
    model = MODELS[spec.model].fit(persons["frequency"], persons["recency"], persons["T"])
    if spec.value is None:
        return model, None
    spenders = (persons["frequency"] > 0) & (persons["monetary"] > 0)
    if int(spenders.sum()) < spec.min_repeat_buyers:
        raise QueryError(
            f"only {int(spenders.sum())} repeat buyers have a positive {spec.value!r} on "
            f"their repeat purchases; the spend model needs at least {spec.min_repeat_buyers}"
            " (set value to the property holding the order value, or to null for purchase "
            "predictions without CLV)", field="value")
    spend = GammaGammaModel.fit(persons.loc[spenders, "frequency"],
                                persons.loc[spenders, "monetary"])
    return model, spend


def _groups(source: EventSource, spec: CLVSpec, persons: pd.DataFrame,
            calibration_end: date) -> dict[str, pd.Series]:
    """Each customer's value for every grouping (breakdown properties, stage, segments)."""
    ids = persons["person_id"]
    out: dict[str, pd.Series] = {}
    if spec.breakdown:
        # over all of the person's events, as person filters read them (a channel filter
        # must not make everyone's acquisition channel that channel): up to calibration_end
        events = source.table("events")
        events = events.filter(events.timestamp < _end(calibration_end))
        props = person_properties(events, list(spec.breakdown)).to_pandas()
        props = props.set_index(props["person_id"].astype(str))
        for name in spec.breakdown:
            values = props[name].reindex(ids)
            out[name] = values.astype(object).where(values.notna(), NO_VALUE).astype(str)
    if spec.stage_model is not None:
        from touchpath.analytics.stages import StagesSpec, person_stages

        staged = person_stages(source, StagesSpec(model=spec.stage_model,
                                                  as_of=calibration_end,
                                                  filters=spec.filters))
        current = staged.set_index(staged["person_id"].astype(str))["current_stage"]
        values = current.reindex(ids)
        out["stage"] = values.astype(object).where(values.notna(), NO_VALUE).astype(str)
    for named in spec.segments:
        table, negate = segment_persons(source, named.segment, _end(calibration_end))
        members = set(table.to_pandas()["person_id"].astype(str))
        inside = ids.isin(members)
        out[f"segment:{named.name}"] = (~inside if negate else inside).map(
            {True: named.name, False: ""})
    return out


def _end(day: date) -> datetime:
    """The first instant after ``day`` (naive UTC)."""
    _, until = date_bounds(DateRange(end=day))
    assert until is not None
    return until


def _group_rows(group: str, values: pd.Series, table: pd.DataFrame, holdout: bool
                ) -> list[dict[str, Any]]:
    rows = []
    for value, part in table.groupby(values.to_numpy(), sort=True):
        if group.startswith("segment:") and value == "":
            continue
        rows.append({
            "group": "segment" if group.startswith("segment:") else group,
            "value": value,
            "customers": len(part),
            "repeat_buyers": int((part["frequency"] > 0).sum()),
            "mean_frequency": float(part["frequency"].mean()),
            "p_alive_mean": float(part["p_alive"].mean()),
            "expected_purchases_mean": float(part["expected_purchases"].mean()),
            "expected_spend_mean": float(part["expected_spend"].mean()),
            "clv_mean": float(part["clv"].mean()),
            "clv_total": float(part["clv"].sum(min_count=1)),
            "holdout_actual_mean": (float(part["holdout_purchases"].mean())
                                    if holdout else np.nan),
            "holdout_predicted_mean": (float(part["predicted_holdout_purchases"].mean())
                                       if holdout else np.nan),
        })
    return rows


def diagnostics_table(persons: pd.DataFrame) -> pd.DataFrame:
    """Holdout purchases per calibration frequency 0, 1, ..., 6, 7+: customers, mean and total
    actual and predicted (``persons`` needs ``frequency``, ``holdout_purchases`` and
    ``predicted_holdout_purchases``)."""
    capped = persons["frequency"].clip(upper=TOP_FREQUENCY)
    rows = []
    for k in range(TOP_FREQUENCY + 1):
        part = persons[capped == k]
        rows.append({
            "frequency": f"{k}+" if k == TOP_FREQUENCY else str(k),
            "customers": len(part),
            "actual_mean": float(part["holdout_purchases"].mean()) if len(part) else np.nan,
            "predicted_mean": (float(part["predicted_holdout_purchases"].mean())
                               if len(part) else np.nan),
            "actual_total": int(part["holdout_purchases"].sum()),
            "predicted_total": float(part["predicted_holdout_purchases"].sum()),
        })
    return pd.DataFrame(rows)


@register("clv", CLVSpec, "Customer lifetime value: BG/NBD or Pareto/NBD purchase models and "
          "Gamma-Gamma spend fitted on the purchases; predicted purchases, P(alive) and CLV per "
          "person, acquisition channel, journey stage and segment, checked on a holdout.")
def run_clv(source: EventSource, spec: CLVSpec) -> CLVResult:
    """Run a CLV analysis (see :class:`CLVSpec` and ``docs/clv.md``)."""
    matchers = {"purchase": spec.purchase}
    for i, named in enumerate(spec.segments):
        if isinstance(named.segment, DidEvent):
            matchers[f"segments[{i}].segment.event"] = named.segment.event
    check_events(source, matchers)
    summary = purchase_summary(
        source, spec.purchase, value=spec.value or "revenue",
        calibration_end=spec.calibration_end, observation_end=spec.observation_end,
        period=spec.period, time_unit=spec.time_unit, filters=spec.filters)
    persons = summary.persons
    if spec.value is None:
        persons = persons.assign(monetary=np.nan, first_value=np.nan, holdout_value=np.nan)
    model, spend = _fit(spec, persons)
    unit_days = UNIT_DAYS[spec.time_unit]
    holdout = summary.holdout_length > 0
    predicted = predict(model, spend, persons, spec.horizon, unit_days, summary.holdout_length)
    table = pd.concat([persons, predicted], axis=1)
    groups = _groups(source, spec, persons, summary.calibration_end)
    for name, values in groups.items():
        table[name] = values.to_numpy()

    rows = _group_rows("all", pd.Series(["all"] * len(table)), table, holdout)
    for name, values in groups.items():
        rows += _group_rows(name, values, table, holdout)
    frame = pd.DataFrame(rows)
    diagnostics = (diagnostics_table(table) if holdout
                   else pd.DataFrame(columns=["frequency", "customers", "actual_mean",
                                              "predicted_mean", "actual_total",
                                              "predicted_total"]))
    fitted: list[tuple[str, Any]] = [(spec.model, model)]
    if spend is not None:
        fitted.append(("gammagamma", spend))
    parameters = pd.DataFrame(
        [{"model": name, "parameter": k, "value": v} for name, m in fitted
         for k, v in {**m.params, "log_likelihood": m.log_likelihood,
                      "customers": float(m.customers)}.items()])
    result_summary: dict[str, Any] = {
        "model": spec.model,
        "params": model.params,
        "log_likelihood": model.log_likelihood,
        "spend_model": None if spend is None else "gammagamma",
        "spend_params": None if spend is None else spend.params,
        "customers": len(table),
        "repeat_buyers": int((table["frequency"] > 0).sum()),
        "calibration_end": summary.calibration_end,
        "observation_end": summary.observation_end,
        "holdout_length": summary.holdout_length,
        "holdout_newcomers": summary.holdout_newcomers,
        "time_unit": spec.time_unit,
        "clv_total": float(table["clv"].sum(min_count=1)),
        "clv_mean": float(table["clv"].mean()),
        "holdout_actual_total": int(table["holdout_purchases"].sum()) if holdout else None,
        "holdout_predicted_total": (float(table["predicted_holdout_purchases"].sum())
                                    if holdout else None),
    }
    return CLVResult(spec, frame, result_summary, {
        "persons": table, "diagnostics": diagnostics, "parameters": parameters})
