"""Settings: one typed object, read from defaults, an optional ``touchpath.toml`` and
``TOUCHPATH_*`` environment variables (later sources win).

Every setting is declared once below with its documentation; ``touchpath settings`` prints the
table and ``docs/settings.md`` is generated from it. A bad value fails at start with the name of
the setting and what it accepts.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from touchpath.errors import ConfigError

ENV_PREFIX = "TOUCHPATH_"
CONFIG_FILE_ENV = "TOUCHPATH_CONFIG"
DEFAULT_CONFIG_FILE = "touchpath.toml"

IP_MODES = ("truncate", "hash", "keep", "drop")
MATCH_KEYS = ("email", "phone")
ENGINES = ("duckdb", "spark")
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
DEFAULT_BLOCKED_IDS = (
    "null", "none", "nil", "undefined", "nan", "0", "-1", "anonymous", "unknown",
    "guest", "test", "[object object]", "00000000-0000-0000-0000-000000000000",
)


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclasses.dataclass(frozen=True)
class Settings:
    """All of touchpath's settings. Build with :func:`load_settings`."""

    store_path: Path = dataclasses.field(
        default=Path("touchpath.duckdb"),
        metadata=_doc("The DuckDB file that holds the store. Created on first use."),
    )
    duckdb_memory_limit: str = dataclasses.field(
        default="",
        metadata=_doc(
            "Most memory DuckDB may use for the store, e.g. '3GB' or '512MB' (DuckDB's"
            " memory_limit). Past it DuckDB spills to a directory next to the store file."
            " Empty: DuckDB's default, 80% of the machine's memory, which DuckDB fills with"
            " cached data before it spills. At 50M events every analysis ran within a 4 GB"
            " peak with '3GB' (benchmarks/RESULTS.md)."
        ),
    )
    host: str = dataclasses.field(
        default="127.0.0.1", metadata=_doc("Interface the server listens on.")
    )
    port: int = dataclasses.field(default=8000, metadata=_doc("Port the server listens on."))
    admin_token: str = dataclasses.field(
        default="",
        metadata=_doc(
            "Bearer token for the admin API (statistics, identities, erase). Empty: a random"
            " token is made at each start and printed."
        ),
    )
    dedupe_window_hours: int = dataclasses.field(
        default=24,
        metadata=_doc(
            "How long the collector remembers a messageId to drop a later copy (Segment"
            " documents a 24-hour window). Client retries arrive within it; the ids live in a"
            " table pruned after this time and, while the server runs, in a set in its memory"
            " (about 120 bytes per id: a day at 100 events/s is about 1 GB). 0: remember"
            " forever (the set then grows without limit). File imports always check every"
            " stored event."
        ),
    )
    session_timeout_minutes: int = dataclasses.field(
        default=30,
        metadata=_doc(
            "A person's session ends after this many minutes without an event (the industry's"
            " 30 minutes). The store keeps every event's session number up to date for this"
            " timeout; an analysis asking for another timeout computes sessions as it runs."
        ),
    )
    timezone: str = dataclasses.field(
        default="UTC",
        metadata=_doc(
            "The business's time zone (an IANA name such as 'Asia/Jerusalem'): where the"
            " analyses' calendar days, weeks and months begin (date ranges, retention,"
            " lifecycle, trends). A spec's filters.timezone overrides it. Events are stored in"
            " UTC whatever this says."
        ),
    )
    survey_secret: str = dataclasses.field(
        default="",
        metadata=_doc(
            "Secret that signs survey links (e-mail/SMS) and the case webhooks'"
            " X-Touchpath-Signature. Empty: a random secret is made once and kept in the store,"
            " so links stay valid across restarts."
        ),
    )
    ip_mode: str = dataclasses.field(
        default="truncate",
        metadata=_doc(
            "How client IP addresses are stored: 'truncate' (IPv4 last octet and IPv6 last 80 bits"
            " zeroed), 'hash' (salted SHA-256, needs ip_salt), 'keep' (as sent), 'drop' (not kept)."
        ),
    )
    ip_salt: str = dataclasses.field(
        default="",
        metadata=_doc("Secret salt for ip_mode = 'hash'. Keep it out of version control."),
    )
    identity_match_keys: tuple[str, ...] = dataclasses.field(
        default=("email", "phone"),
        metadata=_doc(
            "Traits that join identities across channels, normalised and hashed (SHA-256):"
            " any of 'email', 'phone'. Empty to join by user and anonymous ids only."
        ),
    )
    identity_blocked_values: tuple[str, ...] = dataclasses.field(
        default=DEFAULT_BLOCKED_IDS,
        metadata=_doc(
            "Id values never used to join identities (compared lower-cased and trimmed):"
            " placeholders such as 'null', '0', 'anonymous' that would merge strangers."
        ),
    )
    identity_max_user_ids: int = dataclasses.field(
        default=1,
        metadata=_doc(
            "How many distinct user ids one person (and so one anonymous id) may join. A merge"
            " over the cap is refused and logged: a shared device or kiosk does not fuse people."
        ),
    )
    default_country_code: str = dataclasses.field(
        default="",
        metadata=_doc(
            "Country calling code (digits, e.g. '972') put before national phone numbers"
            " ('054-...') when phones are normalised. Empty: national numbers keep their digits."
        ),
    )

    lake_dir: str = dataclasses.field(
        default="",
        metadata=_doc(
            "A directory where the server rolls committed events to Parquet (events/date=.../"
            "*.parquet, the export layout) every lake_roll_seconds and at shutdown, for Spark"
            " and lakehouse tools. Empty: no rolling."
        ),
    )
    lake_roll_seconds: int = dataclasses.field(
        default=300,
        metadata=_doc("How often the server rolls new events to lake_dir."),
    )
    engine: str = dataclasses.field(
        default="duckdb",
        metadata=_doc(
            "Where the analyses run: 'duckdb' (the store file) or 'spark' (the events in"
            " spark_events, through PySpark; see docs/spark.md)."
        ),
    )
    spark_master: str = dataclasses.field(
        default="local[2]",
        metadata=_doc(
            "The Spark master for engine = 'spark': 'local[N]' (in this process, N cores),"
            " 'spark://host:7077', 'yarn', 'k8s://...'."
        ),
    )
    spark_events: str = dataclasses.field(
        default="",
        metadata=_doc(
            "The events Spark reads: a Parquet location (a 'touchpath export' directory, its"
            " events/ folder, a file, or an s3a:// / abfss:// / hdfs:// URL) or a catalog table"
            " name such as 'lake.events' (no slash)."
        ),
    )
    spark_shuffle_partitions: int = dataclasses.field(
        default=0,
        metadata=_doc(
            "spark.sql.shuffle.partitions. 0: the core count in local mode (Spark's default of"
            " 200 makes small local runs ~10x slower), Spark's own setting on a cluster."
        ),
    )
    spark_conf: tuple[str, ...] = dataclasses.field(
        default=(),
        metadata=_doc(
            "More Spark settings as 'key=value' entries (e.g. 'spark.driver.memory=4g'),"
            " applied last."
        ),
    )

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, current value, documentation) for every setting."""
        return [
            (f.name, _render(getattr(self, f.name)), f.metadata["doc"])
            for f in dataclasses.fields(self)
        ]


def _render(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _coerce(name: str, raw: Any, default: Any) -> Any:
    """Turn a raw value (TOML value or environment string) into the type of ``default``."""
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if isinstance(default, int):
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
                return int(raw)
            raise ValueError("expected a whole number")
        if isinstance(default, Path):
            if not isinstance(raw, str | Path) or not str(raw).strip():
                raise ValueError("expected a file path")
            return Path(raw).expanduser()
        if isinstance(default, tuple):
            if isinstance(raw, str):
                return tuple(item.strip() for item in raw.split(",") if item.strip())
            if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
                return tuple(raw)
            raise ValueError("expected a list of strings or a comma-separated string")
        if isinstance(raw, str):
            return raw
        raise ValueError(f"expected a string, got {type(raw).__name__}")
    except ValueError as exc:
        raise ConfigError(f"cannot use {raw!r}: {exc}", field=name) from exc


def _check(settings: Settings) -> None:
    if settings.ip_mode not in IP_MODES:
        raise ConfigError(f"must be one of {', '.join(IP_MODES)}", field="ip_mode")
    if settings.ip_mode == "hash" and not settings.ip_salt:
        raise ConfigError("ip_mode = 'hash' needs a secret salt in ip_salt", field="ip_salt")
    unknown = set(settings.identity_match_keys) - set(MATCH_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown match key(s) {sorted(unknown)}; use any of {', '.join(MATCH_KEYS)}",
            field="identity_match_keys",
        )
    if settings.dedupe_window_hours < 0:
        raise ConfigError(
            "must be 0 (whole store) or a number of hours", field="dedupe_window_hours"
        )
    if not 1 <= settings.session_timeout_minutes <= 24 * 60:
        raise ConfigError("must be between 1 and 1440 minutes", field="session_timeout_minutes")
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {settings.timezone!r}; use an IANA name such as"
                          " 'UTC' or 'Asia/Jerusalem'", field="timezone") from None
    if settings.identity_max_user_ids < 1:
        raise ConfigError("must be at least 1", field="identity_max_user_ids")
    if settings.duckdb_memory_limit and not MEMORY_SIZE.fullmatch(settings.duckdb_memory_limit):
        raise ConfigError("a size such as '3GB', '512MB' or '2.5GiB', or empty for DuckDB's"
                          " default", field="duckdb_memory_limit")
    if not 1 <= settings.port <= 65535:
        raise ConfigError("must be between 1 and 65535", field="port")
    if settings.lake_roll_seconds < 1:
        raise ConfigError("at least 1 second", field="lake_roll_seconds")
    if settings.engine not in ENGINES:
        raise ConfigError(f"must be one of {', '.join(ENGINES)}", field="engine")
    if settings.spark_shuffle_partitions < 0:
        raise ConfigError("must be 0 (automatic) or a number of partitions",
                          field="spark_shuffle_partitions")
    bad = [entry for entry in settings.spark_conf if "=" not in entry]
    if bad:
        raise ConfigError(f"expected key=value entries, got {bad}", field="spark_conf")
    if settings.default_country_code and not settings.default_country_code.isdigit():
        raise ConfigError("digits only, e.g. '972' or '1'", field="default_country_code")


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read settings: defaults, then the TOML file, then the environment, then ``overrides``.

    The TOML file is ``config_file``, else ``$TOUCHPATH_CONFIG``, else ``./touchpath.toml`` if it
    exists. Unknown keys are errors (a typo must not be silently ignored).

    >>> load_settings(env={}, port=9000).port
    9000
    """
    env = os.environ if env is None else env
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    defaults = Settings()
    values: dict[str, Any] = {}

    path = Path(config_file) if config_file else None
    if path is None and env.get(CONFIG_FILE_ENV):
        path = Path(env[CONFIG_FILE_ENV])
    if path is None and Path(DEFAULT_CONFIG_FILE).exists():
        path = Path(DEFAULT_CONFIG_FILE)
    if path is not None:
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist", field=CONFIG_FILE_ENV)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}", field=str(path)) from exc
        for key, raw in data.items():
            if key not in fields:
                raise ConfigError(
                    f"unknown setting in {path}; known settings: {', '.join(fields)}", field=key
                )
            values[key] = _coerce(key, raw, getattr(defaults, key))

    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX) or key == CONFIG_FILE_ENV:
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name not in fields:
            raise ConfigError(f"unknown setting; known settings: {', '.join(fields)}", field=key)
        values[name] = _coerce(key, raw, getattr(defaults, name))

    for name, raw in overrides.items():
        if raw is None:
            continue
        if name not in fields:
            raise ConfigError("unknown setting", field=name)
        values[name] = _coerce(name, raw, getattr(defaults, name))

    settings = dataclasses.replace(defaults, **values)
    _check(settings)
    return settings


def settings_markdown() -> str:
    """The settings reference (``docs/settings.md``), generated from the declarations above."""
    lines = [
        "# Settings",
        "",
        "Read from defaults, then `touchpath.toml` (or the file in `$TOUCHPATH_CONFIG`), then",
        "environment variables `TOUCHPATH_<NAME>` (upper case). A bad value stops touchpath at",
        "start with the name of the setting. Lists are TOML arrays or comma-separated strings.",
        "Generated by `touchpath settings --markdown`; a test keeps it in sync with the code.",
        "",
        "| setting | environment | default | meaning |",
        "|---|---|---|---|",
    ]
    for f in dataclasses.fields(Settings):
        default = _render(f.default) if f.default is not dataclasses.MISSING else ""
        default = default.replace("|", "\\|") or "(empty)"
        lines.append(
            f"| `{f.name}` | `{ENV_PREFIX}{f.name.upper()}` | `{default}` | {f.metadata['doc']} |"
        )
    return "\n".join(lines) + "\n"
