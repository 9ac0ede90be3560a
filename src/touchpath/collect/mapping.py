"""Column mappings for file imports: which column of a CRM, POS or help-desk export is the
person, the time, the event, the revenue.

A mapping comes from a small YAML file, from command-line flags, or both (flags win). It is
checked against the file's columns before any row is written, and every problem names the
mapping key and the fix. The format is documented in ``docs/import.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping as AnyMapping
from pathlib import Path
from typing import Any

import yaml

from touchpath.errors import ConfigError, ValidationError

FIELDS = (
    "message_id", "event", "type", "user_id", "anonymous_id", "email", "phone", "timestamp",
    "revenue", "currency", "channel", "source", "utm_source", "utm_medium", "utm_campaign",
    "session_id", "name",
)
"""touchpath fields a file column can be mapped to."""
IDENTITY_FIELDS = ("user_id", "anonymous_id", "email", "phone")
TYPES = ("track", "identify", "page", "screen")
_TOP_KEYS = ("source", "channel", "event", "type", "time_format", "timezone", "country_code",
             "columns", "properties", "traits")


@dataclasses.dataclass(frozen=True)
class ImportMapping:
    """How the rows of one file become touchpoints."""

    columns: dict[str, str] = dataclasses.field(default_factory=dict)
    source: str | None = None
    channel: str | None = None
    event: str | None = None
    type: str = "track"
    time_format: str | None = None
    timezone: str = "UTC"
    country_code: str | None = None
    """Calling code for national phone numbers in this file (else the setting)."""
    properties: tuple[str, ...] | None = None
    traits: tuple[str, ...] = ()

    def with_flags(self, **flags: Any) -> ImportMapping:
        """Override with command-line flags; ``<field>_column`` flags map a column."""
        columns = dict(self.columns)
        values: dict[str, Any] = {}
        for key, value in flags.items():
            if value is None:
                continue
            if key.endswith("_column"):
                columns[key.removesuffix("_column")] = value
            elif key in ("properties", "traits"):
                values[key] = tuple(value)
            else:
                values[key] = value
        return dataclasses.replace(self, columns=columns, **values)

    def check(self, available: list[str]) -> None:
        """Fail, naming the mapping key, unless the mapping fits a file with ``available``."""
        for target, column in self.columns.items():
            if target not in FIELDS:
                raise ValidationError(
                    f"unknown field {target!r}; map columns to any of {', '.join(FIELDS)}",
                    field=f"columns.{target}",
                )
            if column not in available:
                raise ValidationError(
                    f"the file has no column {column!r}; its columns are {', '.join(available)}",
                    field=f"columns.{target}",
                )
        for key in ("properties", "traits"):
            for column in getattr(self, key) or ():
                if column not in available:
                    raise ValidationError(
                        f"the file has no column {column!r}; its columns are "
                        f"{', '.join(available)}",
                        field=key,
                    )
        if "timestamp" not in self.columns:
            raise ValidationError(
                "say which column holds the time (--time-column or columns.timestamp)",
                field="columns.timestamp",
            )
        if not any(f in self.columns for f in IDENTITY_FIELDS):
            raise ValidationError(
                "say which column identifies the person: one of "
                + ", ".join(f"columns.{f}" for f in IDENTITY_FIELDS)
                + " (--user-id-column, --email-column, ...)",
                field="columns.user_id",
            )
        if self.country_code is not None and not self.country_code.isdigit():
            raise ValidationError("digits only, e.g. '972'", field="country_code")
        if self.type not in TYPES:
            raise ValidationError(f"must be one of {', '.join(TYPES)}", field="type")
        if self.type == "track" and not self.event and "event" not in self.columns:
            raise ValidationError(
                "a track import needs an event name (--event 'Order Completed') or an event "
                "column (--event-column)",
                field="event",
            )

    def property_columns(self, available: list[str]) -> list[str]:
        """Columns kept in ``properties``: as listed, or every column not mapped elsewhere."""
        if self.properties is not None:
            return list(self.properties)
        used = set(self.columns.values()) | set(self.traits)
        return [c for c in available if c not in used]


def load_mapping(path: Path | None) -> ImportMapping:
    """Read a YAML mapping file (``None``: an empty mapping, filled by flags)."""
    if path is None:
        return ImportMapping()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"mapping file {path} does not exist", field="mapping") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", field="mapping") from exc
    return mapping_from_dict(data, where=str(path))


def mapping_from_dict(data: AnyMapping[str, Any], where: str = "mapping") -> ImportMapping:
    """Build a mapping from its YAML/dict form, refusing unknown keys and wrong types."""
    if not isinstance(data, AnyMapping):
        raise ConfigError(f"{where} must be a mapping of keys to values", field="mapping")
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"unknown key in {where}; known keys: {', '.join(_TOP_KEYS)}", field=key
            )
    columns = data.get("columns") or {}
    if not isinstance(columns, AnyMapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise ConfigError("must map field names to column names (strings)", field="columns")
    values: dict[str, Any] = {"columns": dict(columns)}
    for key in ("source", "channel", "event", "type", "time_format", "timezone", "country_code"):
        if key in data and data[key] is not None:
            if not isinstance(data[key], str):
                raise ConfigError(f"must be a string, got {data[key]!r}", field=key)
            values[key] = data[key]
    for key in ("properties", "traits"):
        if key in data and data[key] is not None:
            items = data[key]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ConfigError("must be a list of column names", field=key)
            values[key] = tuple(items)
    return ImportMapping(**values)
