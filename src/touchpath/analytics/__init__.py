"""Journey analytics: funnels, paths, retention, lifecycle and stages over an event source.

Every analysis is a frozen spec run by :func:`run` on an :class:`EventSource` (the store, or a
Parquet export through :class:`TableSource`) into a typed result with ``.frame``,
``.summary``, ``.figure()`` and ``.to_dict()``. The shared counting rules are in
:mod:`touchpath.analytics.frame` and ``docs/counting-rules.md``.
"""

from touchpath.analytics._funnel_spec import Breakdown, Exclusion, FunnelSpec, FunnelStep
from touchpath.analytics._paths_spec import PathsSpec
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
from touchpath.analytics.funnels import (
    FunnelResult,
    compare_funnel,
    drop_off_next_events,
    dropped_persons,
    funnel_correlation,
)
from touchpath.analytics.lifecycle import LifecycleResult, LifecycleSpec
from touchpath.analytics.paths import PathsResult, next_events
from touchpath.analytics.registry import ANALYSES, analysis, run, run_json, spec_from_json
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.retention import RetentionResult, RetentionSpec
from touchpath.analytics.segments import list_segments, load_segment, save_segment
from touchpath.analytics.sessions import SessionsResult, SessionsSpec
from touchpath.analytics.source import EventSource, TableSource
from touchpath.analytics.stages import StagesResult, StagesSpec, person_stages

__all__ = [
    "ANALYSES",
    "AnalysisResult",
    "Breakdown",
    "DateRange",
    "DidEvent",
    "EventMatcher",
    "EventSource",
    "Exclusion",
    "Filters",
    "FunnelResult",
    "FunnelSpec",
    "FunnelStep",
    "HasProperties",
    "LifecycleResult",
    "LifecycleSpec",
    "PathsResult",
    "PathsSpec",
    "PersonList",
    "PropertyFilter",
    "RetentionResult",
    "RetentionSpec",
    "SavedSegment",
    "Segment",
    "SessionsResult",
    "SessionsSpec",
    "StagesResult",
    "StagesSpec",
    "TableSource",
    "analysis",
    "compare_funnel",
    "drop_off_next_events",
    "dropped_persons",
    "from_dict",
    "funnel_correlation",
    "list_segments",
    "load_segment",
    "next_events",
    "person_stages",
    "run",
    "run_json",
    "save_segment",
    "spec_from_json",
    "to_dict",
]
