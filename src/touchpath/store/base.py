"""The store contract every engine implements (DuckDB now, Spark later).

Analytics read events through :meth:`EventStore.table`, an Ibis table expression, so one query
runs on every engine. Writes go through :meth:`EventStore.write` with an Arrow table of
``spec.columns.INCOMING``: deduplication on ``message_id``, channel classification and identity
stitching happen there, once, so every query can rely on ``person_id`` and ``channel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import ibis.expr.types as ir
import pyarrow as pa


@dataclass(frozen=True)
class WriteResult:
    """What a write did: messages received, stored, skipped as duplicates; persons merged."""

    received: int
    stored: int
    duplicates: int
    merges: int = 0


@dataclass(frozen=True)
class EraseResult:
    """The persons erased and the rows deleted per table."""

    persons: tuple[str, ...]
    rows_deleted: dict[str, int] = field(default_factory=dict)


class EventStore(Protocol):
    """What every engine provides: writes through one path, reads as Ibis tables, privacy."""

    def write(self, incoming: pa.Table) -> WriteResult: ...

    def table(self, name: str = "events") -> ir.Table: ...

    def stats(self) -> dict[str, Any]: ...

    def find_persons(self, identity: str) -> list[str]: ...

    def explain(self, identity: str) -> dict[str, Any]: ...

    def erase(self, identity: str) -> EraseResult: ...

    def export_parquet(self, directory: Path) -> dict[str, int]: ...

    def import_parquet(self, directory: Path) -> dict[str, int]: ...

    def close(self) -> None: ...
