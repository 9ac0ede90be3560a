"""touchpath: open-source customer-journey analytics.

Collect every touchpoint, stitch each person's identities across channels, place every step on
the journey, analyse it and show it as a living journey map.

>>> import touchpath
>>> settings = touchpath.load_settings(env={})
>>> spec = touchpath.FunnelSpec(steps=(touchpath.FunnelStep("Product Viewed"),
...                                    touchpath.FunnelStep("Order Completed")))
>>> # touchpath.analyse(store, spec).frame  -> one row per step
"""

from touchpath.analytics import (
    AnalysisResult,
    DateRange,
    DidEvent,
    EventMatcher,
    Filters,
    FunnelSpec,
    FunnelStep,
    HasProperties,
    LifecycleSpec,
    PathsSpec,
    PersonList,
    PropertyFilter,
    RetentionSpec,
    SavedSegment,
    SessionsSpec,
    StagesSpec,
    TableSource,
    save_segment,
)
from touchpath.analytics import run as analyse
from touchpath.attribution import AttributionSpec
from touchpath.collect.importer import ImportSummary, import_file
from touchpath.collect.mapping import ImportMapping, load_mapping
from touchpath.config import Settings, load_settings
from touchpath.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    PayloadTooLargeError,
    QueryError,
    StorageError,
    StoreLockedError,
    TouchpathError,
    ValidationError,
)
from touchpath.journey.channels import CHANNELS, classify
from touchpath.journey.stages import StageModel, load_stages
from touchpath.journeymap import JourneyMapSpec, save_opportunity
from touchpath.spec.messages import ParseOptions, parse_message
from touchpath.store.base import EraseResult, EventStore, WriteResult
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.value import CLVSpec, purchase_summary
from touchpath.voice import (
    DriversSpec,
    SatisfactionSpec,
    Survey,
    ThemesSpec,
    load_survey_file,
    record_answer,
    save_survey,
)

__version__ = "0.1.0"

__all__ = [
    "CHANNELS",
    "AnalysisResult",
    "AttributionSpec",
    "AuthError",
    "CLVSpec",
    "ConfigError",
    "DateRange",
    "DidEvent",
    "DriversSpec",
    "DuckDBStore",
    "EraseResult",
    "EventMatcher",
    "EventStore",
    "Filters",
    "FunnelSpec",
    "FunnelStep",
    "HasProperties",
    "ImportMapping",
    "ImportSummary",
    "JourneyMapSpec",
    "LifecycleSpec",
    "NotFoundError",
    "ParseOptions",
    "PathsSpec",
    "PayloadTooLargeError",
    "PersonList",
    "PropertyFilter",
    "QueryError",
    "RetentionSpec",
    "SatisfactionSpec",
    "SavedSegment",
    "SessionsSpec",
    "Settings",
    "StageModel",
    "StagesSpec",
    "StorageError",
    "StoreLockedError",
    "Survey",
    "TableSource",
    "ThemesSpec",
    "TouchpathError",
    "ValidationError",
    "WriteResult",
    "__version__",
    "analyse",
    "classify",
    "import_file",
    "load_mapping",
    "load_settings",
    "load_stages",
    "load_survey_file",
    "open_store",
    "parse_message",
    "purchase_summary",
    "record_answer",
    "save_opportunity",
    "save_segment",
    "save_survey",
]


def open_store(settings: Settings | None = None) -> DuckDBStore:
    """Open the store named by the settings (default: :func:`load_settings`).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"
    >>> with open_store(load_settings(env={}, store_path=path)) as store:
    ...     store.stats()["events"]
    0
    """
    return DuckDBStore(settings or load_settings())
