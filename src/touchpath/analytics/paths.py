"""Paths: what people (or sessions) do from an event, before an event, or between two.

Like PostHog's and Amplitude's paths and retentioneering's step matrix and transition graph:
:func:`run_paths` turns a :class:`PathsSpec` into a :class:`PathsResult` with the top paths,
the Sankey edges (step ``k`` → step ``k+1``), the transition matrix and the step matrix (the
share of entities at each event at step ``k``). :func:`next_events` answers "what did these
people do after X" (a funnel's drop-offs) with the same code. The exact rules are in
``docs/paths.md``.

>>> from touchpath.analytics import EventMatcher, run
>>> spec = PathsSpec(start=EventMatcher("Product Viewed"), max_steps=4)
>>> run(store, spec).frame.head()                                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics._paths_query import SEPARATOR, aggregates, entity_events, steps
from touchpath.analytics._paths_spec import GAP, PATH_END, PathsSpec
from touchpath.analytics.filters import EventMatcher, Filters, PersonList
from touchpath.analytics.frame import check_events
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.errors import ValidationError

__all__ = ["GAP", "PATH_END", "SEPARATOR", "PathsResult", "PathsSpec", "next_events",
           "run_paths"]

PATH_COLUMNS = ["path", "steps", "count", "share"]
EDGE_COLUMNS = ["step", "source", "target", "count", "share"]
TRANSITION_COLUMNS = ["source", "target", "count", "probability"]


@dataclass(frozen=True)
class PathsResult(AnalysisResult):
    """``frame``: the top paths (``path`` as step names joined by ``" → "``, ``steps``,
    ``count`` of entities, ``share`` of all entities with a path). ``tables``: ``edges``,
    ``transitions``, ``step_matrix`` (see the properties). ``summary``: ``entities`` (people
    or sessions with a path), ``per``, ``distinct_paths``, ``top_share``."""

    kind: ClassVar[str] = "paths"

    @property
    def paths(self) -> pd.DataFrame:
        return self.frame

    @property
    def edges(self) -> pd.DataFrame:
        """Sankey links: ``step`` ``k``'s ``source`` → step ``k+1``'s ``target`` (or
        ``"(end)"``), ``count`` of entities (at least ``min_edge_weight``) and ``share``."""
        return self.tables["edges"]

    @property
    def transitions(self) -> pd.DataFrame:
        """Every step → next step pair over all steps: ``count`` and ``probability`` (of the
        next step given the step; each source's probabilities add up to 1)."""
        return self.tables["transitions"]

    @property
    def step_matrix(self) -> pd.DataFrame:
        """``event`` and one column per step ``1..max_steps``: the share of entities whose
        path is at that event at that step; the ``"(end)"`` row holds the paths already over,
        so each step's column adds up to 1."""
        return self.tables["step_matrix"]

    def transition_matrix(self, value: str = "probability") -> pd.DataFrame:
        """The transitions as a square table: rows are steps, columns the next steps."""
        table = self.transitions
        if table.empty:
            return pd.DataFrame()
        return table.pivot_table(index="source", columns="target", values=value,
                                 aggfunc="sum", fill_value=0)

    def figure(self) -> Any:
        """A Plotly Sankey of the edges, one column of nodes per step."""
        import plotly.graph_objects as go

        edges = self.edges
        nodes: dict[tuple[int, str], int] = {}
        for row in edges.itertuples(index=False):
            nodes.setdefault((int(row.step), str(row.source)), len(nodes))
            nodes.setdefault((int(row.step) + 1, str(row.target)), len(nodes))
        last = max((k for k, _ in nodes), default=1)
        sankey = go.Sankey(
            arrangement="snap",
            node={"label": [label for _, label in nodes],
                  "x": [0.01 + 0.98 * (k - 1) / max(last - 1, 1) for k, _ in nodes],
                  "pad": 12},
            link={"source": [nodes[(int(r.step), str(r.source))] for r in edges.itertuples()],
                  "target": [nodes[(int(r.step) + 1, str(r.target))]
                             for r in edges.itertuples()],
                  "value": edges["count"].tolist()},
        )
        figure = go.Figure(sankey)
        figure.update_layout(title=f"Paths per {self.summary.get('per', 'person')}")
        return figure

    def transition_graph_figure(self, min_probability: float = 0.05) -> Any:
        """A Plotly drawing of the transition graph: events on a circle, an arrow for each
        transition at least ``min_probability`` likely, as thick as it is likely."""
        import math

        import plotly.graph_objects as go

        table = self.transitions[self.transitions["probability"] >= min_probability]
        names = sorted(set(table["source"]) | set(table["target"]))
        where = {name: (math.cos(2 * math.pi * i / max(len(names), 1)),
                        math.sin(2 * math.pi * i / max(len(names), 1)))
                 for i, name in enumerate(names)}
        figure = go.Figure(go.Scatter(
            x=[where[n][0] for n in names], y=[where[n][1] for n in names], text=names,
            mode="markers+text", textposition="top center", marker={"size": 18},
            hoverinfo="text"))
        for row in table.itertuples(index=False):
            (x0, y0), (x1, y1) = where[str(row.source)], where[str(row.target)]
            if row.source == row.target:
                continue  # a repeat (collapse_repeats=False): shown in the matrix, not drawn
            figure.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x",
                                  ayref="y", showarrow=True, arrowhead=3,
                                  arrowwidth=1 + 6 * float(row.probability), opacity=0.6,
                                  hovertext=f"{row.source} → {row.target}: "
                                            f"{float(row.probability):.0%}")
        figure.update_layout(title="Transition graph", showlegend=False,
                             xaxis={"visible": False}, yaxis={"visible": False})
        return figure

    def step_matrix_figure(self) -> Any:
        """A Plotly heatmap of the step matrix (events × steps, share of entities)."""
        import plotly.graph_objects as go

        matrix = self.step_matrix
        columns = [c for c in matrix.columns if c != "event"]
        heatmap = go.Heatmap(z=matrix[columns].to_numpy(), x=[str(c) for c in columns],
                             y=matrix["event"].tolist(), colorscale="Blues", zmin=0, zmax=1,
                             texttemplate="%{z:.2f}")
        figure = go.Figure(heatmap)
        figure.update_layout(title="Step matrix", xaxis_title="step",
                             yaxis={"autorange": "reversed"})
        return figure


@register("paths", PathsSpec, "What people do after an event, before an event, or between two.")
def run_paths(source: EventSource, spec: PathsSpec) -> PathsResult:
    """Run a paths analysis on ``source``."""
    _check_names(source, spec)
    return _run(source, spec, None)


def _check_names(source: EventSource, spec: PathsSpec) -> None:
    matchers = {name: matcher for name in ("start", "end")
                if (matcher := getattr(spec, name)) is not None}
    check_events(source, matchers)
    for i, name in enumerate(spec.exclude):
        try:
            check_events(source, {f"exclude[{i}]": EventMatcher(name)})
        except ValidationError as exc:
            exc.field = f"exclude[{i}]"
            raise


def _run(source: EventSource, spec: PathsSpec, events: ir.Table | None) -> PathsResult:
    path_steps = steps(source, spec, events)
    counts, ranked = aggregates(path_steps, spec)
    at_first = counts[counts["k"] == 1]
    entities = int(at_first["count"].sum())
    frame = _paths_frame(ranked, entities)
    summary = {
        "entities": entities,
        "per": spec.per,
        "distinct_paths": int(ranked["distinct"].iloc[0]) if not ranked.empty else 0,
        "top_share": float(frame["share"].sum()) if entities else 0.0,
    }
    tables = {
        "edges": _edges(counts, entities, spec.min_edge_weight),
        "transitions": _transitions(counts),
        "step_matrix": _step_matrix(counts, entities, spec.max_steps),
    }
    return PathsResult(spec=spec, frame=frame, summary=summary, tables=tables)


def _paths_frame(ranked: pd.DataFrame, entities: int) -> pd.DataFrame:
    if ranked.empty:
        return pd.DataFrame({"path": pd.Series(dtype=str), "steps": pd.Series(dtype="int64"),
                             "count": pd.Series(dtype="int64"),
                             "share": pd.Series(dtype=float)})
    frame = ranked[["path", "steps", "count"]].astype({"steps": "int64", "count": "int64"})
    frame = frame.assign(share=frame["count"] / entities).reset_index(drop=True)
    return frame[PATH_COLUMNS]


def _edges(counts: pd.DataFrame, entities: int, min_weight: int) -> pd.DataFrame:
    edges = counts[counts["next"].notna() & (counts["count"] >= min_weight)]
    edges = edges.rename(columns={"k": "step", "label": "source", "next": "target"})
    edges = edges.assign(share=edges["count"] / entities if entities else 0.0)
    edges = edges.sort_values(["step", "count", "source", "target"],
                              ascending=[True, False, True, True])
    return _typed(edges[EDGE_COLUMNS].reset_index(drop=True), step="int64", count="int64")


def _transitions(counts: pd.DataFrame) -> pd.DataFrame:
    pairs = counts[counts["next"].notna()]
    table = pairs.groupby(["label", "next"], as_index=False)["count"].sum()
    table = table.rename(columns={"label": "source", "next": "target"})
    totals = table.groupby("source")["count"].transform("sum")
    table = table.assign(probability=table["count"] / totals)
    table = table.sort_values(["source", "count", "target"], ascending=[True, False, True])
    return _typed(table[TRANSITION_COLUMNS].reset_index(drop=True), count="int64")


def _step_matrix(counts: pd.DataFrame, entities: int, max_steps: int) -> pd.DataFrame:
    columns = list(range(1, max_steps + 1))
    if not entities:
        return pd.DataFrame(columns=["event", *columns])
    at = counts.groupby(["label", "k"])["count"].sum().unstack("k")
    at = at.reindex(columns=columns).fillna(0)
    at.loc[PATH_END] = entities - at.sum(axis=0)
    # most seen first (summed over the steps, in counts: exact), ties by name; the end last
    order = sorted((e for e in at.index if e != PATH_END),
                   key=lambda e: (-int(at.loc[e].sum()), str(e)))
    shares = at.loc[[*order, PATH_END]] / entities
    shares.columns = columns
    return shares.rename_axis(None, axis=1).rename_axis("event").reset_index()


def _typed(frame: pd.DataFrame, **types: str) -> pd.DataFrame:
    return frame.astype(types) if not frame.empty else frame


def next_events(source: EventSource, after: EventMatcher | str, *,
                persons: Sequence[str] | ir.Table | None = None,
                filters: Filters | None = None,
                occurrence: Literal["first", "last"] = "first",
                **options: Any) -> PathsResult:
    """What people did from ``after`` on: paths starting at their first (or, with
    ``occurrence="last"``, last) ``after`` event.

    ``persons`` narrows to some people: a list of ids (kept in the spec as a
    :class:`PersonList` segment, so the result's spec replays it) or an Ibis table with a
    ``person_id`` column (a funnel's drop-offs computed in the engine; not part of the spec).
    ``options`` are other :class:`PathsSpec` fields (``max_steps``, ``top``, ``per``, ...).

    >>> next_events(store, "Checkout Started", persons=dropped_ids, max_steps=4)  # doctest: +SKIP
    """
    matcher = EventMatcher(after) if isinstance(after, str) else after
    filters = filters or Filters()
    table: ir.Table | None = None
    if persons is not None and not isinstance(persons, ir.Table):
        filters = replace(filters, segments=(*filters.segments,
                                             PersonList(tuple(str(p) for p in persons))))
    elif persons is not None:
        table = persons.select("person_id").distinct()
    spec = PathsSpec(start=matcher, filters=filters, occurrence=occurrence, **options)
    _check_names(source, spec)
    events = None
    if table is not None:
        events = entity_events(source, spec)
        events = events.semi_join(table, "person_id")
    return _run(source, spec, events)
