"""The analyses by name: one entry per analysis for the CLI, the REST API and the dashboard.

Each analysis module registers its spec type and its run function with :func:`register` when it
is imported; importing ``touchpath`` imports them all (``touchpath.analytics``), so the table is
full before anything can look in it. :func:`run` dispatches on the spec's type;
:func:`run_json` builds the spec from JSON first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from touchpath.analytics.codec import from_dict
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.errors import NotFoundError

Runner = Callable[[EventSource, Any], AnalysisResult]
F = TypeVar("F", bound=Runner)


@dataclass(frozen=True)
class Analysis:
    name: str
    spec_type: type
    run: Runner
    help: str


ANALYSES: dict[str, Analysis] = {}


def register(name: str, spec_type: type, help: str) -> Callable[[F], F]:
    """Decorator: make ``fn(source, spec)`` the analysis ``name`` for specs of ``spec_type``
    (``fn`` keeps its own signature: ``run_funnel`` returns a ``FunnelResult``)."""

    def decorate(fn: F) -> F:
        ANALYSES[name] = Analysis(name, spec_type, fn, help)
        return fn

    return decorate


def analysis(name: str) -> Analysis:
    try:
        return ANALYSES[name]
    except KeyError:
        known = ", ".join(sorted(ANALYSES))
        raise NotFoundError(f"no analysis {name!r}; analyses: {known}", field="analysis") from None


def run(source: EventSource, spec: Any) -> AnalysisResult:
    """Run any analysis spec on ``source``."""
    for entry in ANALYSES.values():
        if type(spec) is entry.spec_type:
            return entry.run(source, spec)
    raise NotFoundError(f"{type(spec).__name__} is not an analysis spec", field="spec")


def spec_from_json(name: str, data: Any) -> Any:
    """The spec of analysis ``name`` from its JSON form (errors name the field)."""
    return from_dict(analysis(name).spec_type, data)


def run_json(source: EventSource, name: str, data: Any) -> AnalysisResult:
    """Build the spec of analysis ``name`` from JSON and run it."""
    return analysis(name).run(source, spec_from_json(name, data))
