"""Re-stitch a Parquet lake on Spark: every event's ``person_id`` computed again from the
identity keys of the whole history, for event logs that never fit one DuckDB file.

``restitch(session, source, target, settings)`` reads the events of an export or a rolled lake
(``<source>/events/date=.../*.parquet``), builds each message's identity keys the way the
store does (user id, hashed e-mail and phone when ``identity_match_keys`` has them, anonymous
id; blank and ``identity_blocked_values`` ids left out; an ``alias`` call's previous id as the
user id it names when that user id occurs in the lake, else as an anonymous id), runs
:func:`touchpath.identity.spark_components.stitch` (connected components by label propagation
in joins: no id is collected to the driver) and writes ``<target>/events`` (same columns, same
``date`` partitions) and ``<target>/identities.parquet`` (key, kind, value, person_id,
first_seen), with a ``manifest.json``.

What it does not do, unlike the store (see ``spark_components``): ``identity_max_user_ids``
is not applied, so a shared kiosk device fuses the people who used it; give the lake's
placeholder and kiosk ids in ``identity_blocked_values`` to keep them out.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from touchpath.config import Settings
from touchpath.errors import NotFoundError, ValidationError
from touchpath.identity.spark_components import stitch
from touchpath.spec.timestamps import utcnow

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession


@dataclass(frozen=True)
class RestitchReport:
    events: int
    messages_with_keys: int
    persons: int
    changed: int  # events whose person_id differs from the one they had

    def __str__(self) -> str:
        return (f"{self.events:,} events, {self.persons:,} persons; {self.changed:,} events "
                f"changed person")


def _usable(column: Column, blocked: list[str]) -> Column:
    from pyspark.sql import functions as F

    trimmed = F.lower(F.trim(column))
    test = column.isNotNull() & (trimmed != "")
    if blocked:
        test = test & ~trimmed.isin(blocked)
    return test


def message_keys(events: DataFrame, settings: Settings) -> DataFrame:
    """``message_id``, ``first_seen`` (the event's time), ``keys`` (non-empty arrays only)."""
    from pyspark.sql import functions as F

    blocked = [v.strip().lower() for v in settings.identity_blocked_values]
    users = events.filter(_usable(F.col("user_id"), blocked)) \
        .select(F.col("user_id").alias("_known_user")).distinct()
    aliased = events.join(users,
                          events.previous_id == users._known_user, "left")
    parts = [F.when(_usable(F.col("user_id"), blocked), F.concat(F.lit("user:"), "user_id"))]
    if "email" in settings.identity_match_keys:
        parts.append(F.when(F.col("email_hash").isNotNull(),
                            F.concat(F.lit("email:"), "email_hash")))
    if "phone" in settings.identity_match_keys:
        parts.append(F.when(F.col("phone_hash").isNotNull(),
                            F.concat(F.lit("phone:"), "phone_hash")))
    parts.append(F.when(_usable(F.col("anonymous_id"), blocked),
                        F.concat(F.lit("anon:"), "anonymous_id")))
    previous = F.when(
        (F.col("type") == "alias") & _usable(F.col("previous_id"), blocked),
        F.when(F.col("_known_user").isNotNull(), F.concat(F.lit("user:"), "previous_id"))
        .otherwise(F.concat(F.lit("anon:"), "previous_id")))
    parts.append(previous)
    keyed = aliased.select("message_id", F.col("timestamp").alias("first_seen"),
                           F.filter(F.array(*parts), lambda k: k.isNotNull()).alias("keys"))
    return keyed.filter(F.size("keys") > 0)


def restitch(session: SparkSession, source: str | Path, target: str | Path,
             settings: Settings) -> RestitchReport:
    """Re-stitch the lake at ``source`` into ``target`` (see the module's docstring)."""
    from pyspark.sql import functions as F

    source_dir, target_dir = Path(source), Path(target)
    events_dir = source_dir / "events"
    if not events_dir.is_dir() or not any(events_dir.rglob("*.parquet")):
        raise NotFoundError(f"no Parquet events under {events_dir} (an export or a lake)",
                            field="source")
    if (target_dir / "events").exists() and any((target_dir / "events").iterdir()):
        raise ValidationError(f"{target_dir / 'events'} is not empty; write into a new "
                              "directory", field="target")
    if target_dir.resolve() == source_dir.resolve():
        raise ValidationError("write into another directory than the source", field="target")
    events = session.read.parquet(str(events_dir))
    messages = message_keys(events, settings).localCheckpoint()
    key_person, message_person = stitch(messages)
    message_person = message_person.withColumnRenamed("person_id", "_new_person")
    stitched = events.join(message_person, "message_id", "left") \
        .withColumn("_changed", F.col("_new_person").isNotNull()
                    & (F.col("_new_person") != F.col("person_id"))) \
        .withColumn("person_id", F.coalesce("_new_person", "person_id")) \
        .drop("_new_person").localCheckpoint()
    counts = stitched.agg(F.count(F.lit(1)).alias("events"),
                          F.sum(F.col("_changed").cast("long")).alias("changed"),
                          F.countDistinct("person_id").alias("persons")).first()
    if counts is None:  # an aggregate without grouping always has its row
        raise NotFoundError("the lake has no events", field="source")
    columns = [c for c in events.columns if c != "date"]
    target_dir.mkdir(parents=True, exist_ok=True)
    stitched.select(*columns, F.to_date("timestamp").alias("date")).write \
        .partitionBy("date").option("compression", "zstd").parquet(str(target_dir / "events"))
    exploded = messages.select("first_seen", F.explode("keys").alias("key"))
    first_seen = exploded.groupBy("key").agg(F.min("first_seen").alias("first_seen"))
    identities = key_person.join(first_seen, "key").select(
        "key", F.split("key", ":").getItem(0).alias("kind"),
        F.expr("substring(key, instr(key, ':') + 1)").alias("value"), "person_id",
        "first_seen")
    # one file, as an export has it (DuckDB's import reads identities.parquet as a file)
    parts = target_dir / "_identities"
    identities.coalesce(1).write.option("compression", "zstd").parquet(str(parts))
    (next(parts.glob("part-*.parquet"))).rename(target_dir / "identities.parquet")
    shutil.rmtree(parts)
    report = RestitchReport(int(counts["events"]), int(messages.count()),
                            int(counts["persons"]), int(counts["changed"] or 0))
    manifest = {"format": "touchpath-lake", "stitched_from": str(source_dir),
                "stitched_at": utcnow().isoformat(), "engine": "spark",
                "rows": {"events": report.events}, "persons": report.persons}
    (target_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return report
