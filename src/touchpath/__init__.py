"""touchpath: open-source customer-journey analytics.

Collect every touchpoint, stitch each person's identities across channels, place every step on
the journey, analyse it and show it as a living journey map.

>>> import touchpath
>>> settings = touchpath.load_settings(env={})
"""

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
from touchpath.spec.messages import ParseOptions, parse_message
from touchpath.store.base import EraseResult, EventStore, WriteResult
from touchpath.store.duckdb_store import DuckDBStore

__version__ = "0.1.0"

__all__ = [
    "CHANNELS",
    "AuthError",
    "ConfigError",
    "DuckDBStore",
    "EraseResult",
    "EventStore",
    "ImportMapping",
    "ImportSummary",
    "NotFoundError",
    "ParseOptions",
    "PayloadTooLargeError",
    "QueryError",
    "Settings",
    "StorageError",
    "StoreLockedError",
    "TouchpathError",
    "ValidationError",
    "WriteResult",
    "__version__",
    "classify",
    "import_file",
    "load_mapping",
    "load_settings",
    "open_store",
    "parse_message",
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
