"""Journey analytics: funnels, paths, retention, lifecycle and stages over an event source.

Every analysis is a frozen spec run by :func:`run` on an :class:`EventSource` (the store, or a
Parquet export through :class:`TableSource`) into a typed result with ``.frame``,
``.summary``, ``.figure()`` and ``.to_dict()``. The shared counting rules are in
:mod:`touchpath.analytics.frame` and ``docs/counting-rules.md``.
"""

from touchpath.analytics import funnels, paths, retention, stages  # noqa: F401  (registration)
from touchpath.analytics.codec import from_dict, to_dict
from touchpath.analytics.filters import (
    DateRange,
    DidEvent,
    EventMatcher,
    Filters,
    HasProperties,
    PersonList,
    PropertyFilter,
    SavedSegment,
    Segment,
)
from touchpath.analytics.registry import ANALYSES, analysis, run, run_json, spec_from_json
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.segments import list_segments, load_segment, save_segment
from touchpath.analytics.source import EventSource, TableSource

__all__ = [
    "ANALYSES",
    "AnalysisResult",
    "DateRange",
    "DidEvent",
    "EventMatcher",
    "EventSource",
    "Filters",
    "HasProperties",
    "PersonList",
    "PropertyFilter",
    "SavedSegment",
    "Segment",
    "TableSource",
    "analysis",
    "from_dict",
    "list_segments",
    "load_segment",
    "run",
    "run_json",
    "save_segment",
    "spec_from_json",
    "to_dict",
]
