"""Saved segments: a segment definition stored under a name, used as ``SavedSegment(name)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from touchpath.analytics.codec import from_dict, to_dict
from touchpath.analytics.filters import SavedSegment, Segment
from touchpath.analytics.source import EventSource
from touchpath.errors import NotFoundError, ValidationError
from touchpath.spec.timestamps import utcnow


@dataclass(frozen=True)
class _Holder:
    segment: Segment


def segment_from_dict(data: Any) -> Segment:
    """A segment from its JSON form (``{"kind": "behaviour", ...}``)."""
    return from_dict(_Holder, {"segment": data}).segment


def save_segment(store: Any, name: str, segment: Segment) -> None:
    """Save ``segment`` under ``name`` in the store (replacing a segment of that name)."""
    if not name or len(name) > 200:
        raise ValidationError("a segment name has 1 to 200 characters", field="name")
    if isinstance(segment, SavedSegment):
        raise ValidationError("save the segment itself, not a reference to a saved one",
                              field="segment")
    definition = orjson.dumps(to_dict(segment)).decode()
    with store.session() as con:
        con.execute("INSERT OR REPLACE INTO segments VALUES (?, ?, ?)",
                    [name, definition, utcnow()])


def load_segment(source: EventSource, name: str) -> Segment:
    """The segment saved under ``name``; :class:`NotFoundError` when there is none."""
    try:
        table = source.table("segments")
    except Exception as exc:
        raise NotFoundError(f"no saved segments in this source (looking for {name!r})",
                            field="segments") from exc
    rows = table.filter(table.name == name).select("definition").to_pyarrow().to_pylist()
    if not rows:
        raise NotFoundError(f"no saved segment named {name!r}", field="name")
    return segment_from_dict(orjson.loads(rows[0]["definition"]))


def list_segments(source: EventSource) -> dict[str, Segment]:
    """Every saved segment by name."""
    table = source.table("segments").to_pyarrow().to_pylist()
    return {row["name"]: segment_from_dict(orjson.loads(row["definition"])) for row in table}
