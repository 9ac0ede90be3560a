"""Identity stitching on Spark for graphs that never fit one machine: the connected components
of the identity graph by iterative minimum-label propagation in DataFrame joins (no id is
collected to the driver), and the person of each component as :func:`touchpath.identity.resolve`
names it.

Input: one row per message with its identity keys (``user:..``, ``email:<sha256>``,
``phone:<sha256>``, ``anon:..``), its time and message id; the columns ``message_id``,
``first_seen`` and ``keys`` (array of strings). Output: ``key -> person_id`` and
``message_id -> person_id``.

Equal to :func:`~touchpath.identity.resolve.resolve` on a fresh graph (no stored identities)
*without its guards*: every message's keys are one person. What differs from ``resolve``:
- ``identity_max_user_ids`` is not applied (no merge is refused: a kiosk fuses its users);
- ``prev:`` keys (alias calls) are not handled: give an alias as the two keys it links;
- stored identities (``known_keys``) are not read: run it over the whole history.
Blocked placeholder values must be removed before, as for ``resolve``. A message holds at most
one key of each kind (as the store's messages do: one user id, e-mail, phone, anonymous id);
``resolve`` takes the first of two same-kind keys as the strongest, this module the smallest.

The kept person id is ``resolve``'s: persons are created by the messages none of whose keys was
seen before (in ``(first_seen, message_id)`` order), named ``person_id_for`` of the message's
strongest key; a merge keeps the person first seen (ties by id), so a component's person is the
minimum ``(first_seen, person_id)`` of the persons created in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpath.identity.resolve import KIND_PRIORITY

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

MAX_ITERATIONS = 200


def _kind_rank(key: Column) -> Column:
    """0 for a user id, 1 e-mail, 2 phone, 3 anonymous id: a message's strongest key first."""
    from pyspark.sql import functions as F

    kind = F.split(key, ":").getItem(0)
    rank = F.lit(len(KIND_PRIORITY))
    for i, name in reversed(list(enumerate(KIND_PRIORITY))):
        rank = F.when(kind == name, F.lit(i)).otherwise(rank)
    return rank


def components(edges: DataFrame, max_iterations: int = MAX_ITERATIONS) -> DataFrame:
    """``(key, component)`` for every key of ``edges`` (columns ``src``, ``dst``): the
    component is its smallest key. Minimum-label propagation: each round a key takes the
    smallest label among itself and its neighbours, until no label changes (rounds ~ the
    graph's diameter); lineage is cut every round with a local checkpoint."""
    from pyspark.sql import functions as F

    both = edges.select("src", "dst").union(edges.select(F.col("dst").alias("src"),
                                                          F.col("src").alias("dst")))
    both = both.union(both.select("src", F.col("src").alias("dst"))).distinct()
    both = both.localCheckpoint()
    labels = both.groupBy("src").agg(F.min("dst").alias("label")) \
        .withColumnRenamed("src", "key").localCheckpoint()
    for _ in range(max_iterations):
        spread = both.join(labels.withColumnRenamed("key", "dst"), "dst") \
            .groupBy("src").agg(F.min("label").alias("new_label")) \
            .withColumnRenamed("src", "key")
        joined = labels.join(spread, "key")
        changed = joined.filter(F.col("new_label") < F.col("label")).limit(1).count()
        labels = joined.select("key", F.least("label", "new_label").alias("label")) \
            .localCheckpoint()
        if not changed:
            return labels.withColumnRenamed("label", "component")
    raise RuntimeError(f"identity components did not settle in {max_iterations} rounds")


def stitch(messages: DataFrame) -> tuple[DataFrame, DataFrame]:
    """``(key -> person_id, message_id -> person_id)`` of ``messages`` (``message_id``,
    ``first_seen``, ``keys``), as ``resolve`` without guards would assign them."""
    from pyspark.sql import functions as F

    exploded = messages.select("message_id", "first_seen",
                               F.explode(F.array_distinct("keys")).alias("key"))
    ranked = exploded.withColumn("rank", _kind_rank(F.col("key")))
    anchors = ranked.groupBy("message_id").agg(
        F.min(F.struct("rank", "key")).getField("key").alias("anchor"))
    edges = exploded.join(anchors, "message_id").select(
        F.col("anchor").alias("src"), F.col("key").alias("dst"))
    key_component = components(edges)

    # a message creates a person when each of its keys is first seen on it
    order = F.struct("first_seen", "message_id")
    first_of_key = exploded.groupBy("key").agg(F.min(order).alias("first"))
    creators = exploded.join(first_of_key, "key") \
        .groupBy("message_id", "first_seen") \
        .agg(F.bool_and(F.col("first") == F.struct("first_seen", "message_id")).alias("new")) \
        .filter("new").join(anchors, "message_id")
    created = creators.select(
        "first_seen", "anchor",
        F.concat(F.lit("p_"), F.substring(F.sha2("anchor", 256), 1, 16)).alias("person_id"))
    kept = created.join(key_component.withColumnRenamed("key", "anchor"), "anchor") \
        .groupBy("component") \
        .agg(F.min(F.struct("first_seen", "person_id")).getField("person_id").alias("person_id"))
    key_person = key_component.join(kept, "component").select("key", "person_id")
    message_person = anchors.join(key_person.withColumnRenamed("key", "anchor"), "anchor") \
        .select("message_id", "person_id")
    return key_person, message_person
