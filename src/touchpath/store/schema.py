"""The versioned schema of the store, as an ordered list of migrations.

A store records the migrations it applied in ``schema_migrations``; opening a store applies the
missing ones in order, each in its own transaction. Never edit a released migration: add one.

``properties``, ``traits`` and ``context`` hold JSON text in VARCHAR columns: every writer
produces valid JSON (orjson or DuckDB's to_json), and a JSON-typed column would validate each
value again on insert (a third of a second per million rows). DuckDB's JSON functions and
operators (``->>``) read VARCHAR the same way.

Tables that hold a person's data list themselves in :data:`PERSON_COLUMNS`, so erasing a person
(``touchpath erase``) reaches every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events, identities, merge log, imports",
        (
            """
            CREATE TABLE events (
                message_id VARCHAR NOT NULL,
                type VARCHAR NOT NULL,
                event VARCHAR NOT NULL,
                name VARCHAR,
                person_id VARCHAR NOT NULL,
                anonymous_id VARCHAR,
                user_id VARCHAR,
                group_id VARCHAR,
                previous_id VARCHAR,
                timestamp TIMESTAMP NOT NULL,
                original_timestamp TIMESTAMP,
                sent_at TIMESTAMP,
                received_at TIMESTAMP NOT NULL,
                loaded_at TIMESTAMP NOT NULL,
                source VARCHAR,
                channel VARCHAR NOT NULL,
                utm_source VARCHAR,
                utm_medium VARCHAR,
                utm_campaign VARCHAR,
                referrer VARCHAR,
                page_url VARCHAR,
                session_id VARCHAR,
                revenue DOUBLE,
                currency VARCHAR,
                email_hash VARCHAR,
                phone_hash VARCHAR,
                ip VARCHAR,
                properties VARCHAR,
                traits VARCHAR,
                context VARCHAR
            )
            """,
            """
            CREATE TABLE identities (
                key VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                value VARCHAR NOT NULL,
                person_id VARCHAR NOT NULL,
                first_seen TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE identity_merges (
                recorded_at TIMESTAMP NOT NULL,
                event_time TIMESTAMP NOT NULL,
                outcome VARCHAR NOT NULL,
                kept_person VARCHAR NOT NULL,
                merged_person VARCHAR NOT NULL,
                key_a VARCHAR NOT NULL,
                key_b VARCHAR NOT NULL,
                message_id VARCHAR,
                reason VARCHAR NOT NULL
            )
            """,
            """
            CREATE TABLE imports (
                import_id VARCHAR NOT NULL,
                started_at TIMESTAMP NOT NULL,
                file VARCHAR NOT NULL,
                file_sha256 VARCHAR NOT NULL,
                source VARCHAR,
                rows_read BIGINT NOT NULL,
                rows_stored BIGINT NOT NULL,
                rows_duplicate BIGINT NOT NULL,
                rows_rejected BIGINT NOT NULL
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        2,
        "write keys of the collector",
        (
            """
            CREATE TABLE write_keys (
                key_id VARCHAR NOT NULL,
                key_sha256 VARCHAR NOT NULL,
                name VARCHAR NOT NULL,
                source VARCHAR,
                rate_per_second DOUBLE,
                created_at TIMESTAMP NOT NULL,
                revoked_at TIMESTAMP
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        3,
        "index of the message ids the collector has seen recently",
        (
            """
            CREATE TABLE recent_message_ids (
                message_id VARCHAR PRIMARY KEY,
                loaded_at TIMESTAMP NOT NULL
            )
            """,
            """
            INSERT INTO recent_message_ids
            SELECT message_id, max(loaded_at) FROM events
            WHERE loaded_at >= now()::TIMESTAMP - INTERVAL 1 DAY GROUP BY message_id
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        4,
        "saved segments of the analytics",
        (
            """
            CREATE TABLE segments (
                name VARCHAR PRIMARY KEY,
                definition VARCHAR NOT NULL,
                saved_at TIMESTAMP NOT NULL
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        5,
        "session number of every event, kept up to date by refresh_sessions",
        (
            "ALTER TABLE events ADD COLUMN session_index INTEGER",
            """
            CREATE TABLE derived_state (
                name VARCHAR PRIMARY KEY,
                value VARCHAR NOT NULL
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        6,
        "surveys and the follow-up cases of their answers",
        (
            """
            CREATE TABLE surveys (
                id VARCHAR PRIMARY KEY,
                definition VARCHAR NOT NULL,
                active BOOLEAN NOT NULL,
                saved_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE survey_cases (
                case_id VARCHAR PRIMARY KEY,
                person_id VARCHAR NOT NULL,
                survey_id VARCHAR NOT NULL,
                response_id VARCHAR NOT NULL,
                rule VARCHAR NOT NULL,
                score DOUBLE,
                comment VARCHAR,
                opened_at TIMESTAMP NOT NULL,
                due_at TIMESTAMP NOT NULL,
                owner VARCHAR,
                status VARCHAR NOT NULL,
                closed_at TIMESTAMP,
                root_cause VARCHAR,
                webhook_url VARCHAR,
                webhook_status VARCHAR,
                webhook_attempts INTEGER NOT NULL DEFAULT 0
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        7,
        "dashboard accounts and their sessions",
        (
            """
            CREATE TABLE dashboard_users (
                username VARCHAR PRIMARY KEY,
                password_hash VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                last_login TIMESTAMP
            )
            """,
            """
            CREATE TABLE dashboard_sessions (
                token_sha256 VARCHAR PRIMARY KEY,
                username VARCHAR NOT NULL,
                csrf_token VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                expires_at TIMESTAMP NOT NULL
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        8,
        "the journey map's opportunities: an action per pain point, with owner and status",
        (
            """
            CREATE TABLE journey_opportunities (
                pain_point_id VARCHAR PRIMARY KEY,
                action VARCHAR NOT NULL,
                owner VARCHAR,
                status VARCHAR NOT NULL,
                note VARCHAR,
                updated_at TIMESTAMP NOT NULL,
                updated_by VARCHAR
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        9,
        "failed dashboard logins (throttling by user name and by client address)",
        (
            """
            CREATE TABLE dashboard_login_failures (
                username VARCHAR NOT NULL,
                client VARCHAR NOT NULL,
                failed_at TIMESTAMP NOT NULL
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        10,
        "stage changes of the stage models in use, kept up to date with the sessions",
        (
            """
            CREATE TABLE stage_changes (
                model_key VARCHAR NOT NULL,
                person_id VARCHAR NOT NULL,
                timestamp TIMESTAMP NOT NULL,
                message_id VARCHAR NOT NULL,
                pos BIGINT NOT NULL,
                stage INTEGER NOT NULL,
                from_stage INTEGER,
                next_at TIMESTAMP,
                furthest INTEGER NOT NULL,
                first_entry BOOLEAN NOT NULL,
                first_move BOOLEAN NOT NULL,
                took DOUBLE
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        11,
        "one row per session of the stored session numbers, kept up to date with them",
        (
            """
            CREATE TABLE sessions (
                person_id VARCHAR NOT NULL,
                session_index INTEGER NOT NULL,
                started TIMESTAMP NOT NULL,
                ended TIMESTAMP NOT NULL,
                events BIGINT NOT NULL,
                entry_channel VARCHAR
            )
            """,
            # the next refresh numbers everyone again, and so fills the table
            "DELETE FROM derived_state WHERE name = 'session_timeout_seconds'",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

PERSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("person_id",),
    "identities": ("person_id",),
    "identity_merges": ("kept_person", "merged_person"),
    "survey_cases": ("person_id",),
    "stage_changes": ("person_id",),
    "sessions": ("person_id",),
}
"""Every table holding a person's data, and the columns that name the person."""

EXPORT_TABLES = ("events", "identities", "identity_merges", "imports", "write_keys", "segments",
                 "surveys", "survey_cases", "journey_opportunities")
"""Tables written by ``export`` and read back by ``import_parquet``."""
