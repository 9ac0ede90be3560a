"""Identity stitching on Spark (connected components in DataFrame joins) assigns every message
and key the person :func:`touchpath.identity.resolve` assigns, on random graphs, when resolve's
guards are off (no user-id cap, no alias keys, no stored identities: see the module's docstring).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from touchpath.identity.resolve import Combo, resolve
from touchpath.identity.spark_components import stitch

from .test_conformance import pytestmark as spark_warnings

pytestmark = spark_warnings
KINDS = ("user", "email", "phone", "anon")
START = datetime(2026, 1, 1)


def random_graph(rng: random.Random, graph: int) -> list[Combo]:
    """Messages with one to four keys (at most one per kind) from small pools, so keys repeat
    and chains form; times on a coarse grid (ties broken by message id)."""
    pool = rng.randint(3, 30)
    combos = []
    for m in range(rng.randint(1, 60)):
        kinds = rng.sample(KINDS, rng.choice((1, 2, 2, 3, 4)))
        keys = tuple(f"{kind}:g{graph}-{kind[0]}{rng.randrange(pool)}" for kind in kinds)
        combos.append(Combo(keys, START + timedelta(hours=rng.randrange(20)),
                            f"g{graph}-m{rng.randrange(10**6):06d}-{m}"))
    return combos


def test_spark_components_equal_resolve_without_guards(spark: Any) -> None:
    rng = random.Random(20261124)
    graphs = [random_graph(rng, g) for g in range(40)]
    # a long chain: a-0 -- a-1 -- ... (many propagation rounds)
    chain = [Combo((f"anon:chain-{i:03d}", f"email:chain-{i + 1:03d}" if i % 2 else
                    f"phone:chain-{i + 1:03d}"), START + timedelta(minutes=i), f"chain-{i:03d}")
             for i in range(40)]
    graphs.append(chain[::-1])
    expected_message: dict[str, str] = {}
    expected_key: dict[str, str] = {}
    for combos in graphs:
        resolution = resolve(combos, {}, {}, max_user_ids=10**9)
        assert not any(r.outcome == "refused" for r in resolution.log)
        for combo, person in zip(combos, resolution.person_of_combo, strict=True):
            expected_message[combo.message_id] = person
        for key, _kind, _value, person, _seen in resolution.new_identities:
            expected_key[key] = person
    rows = [(c.message_id, c.first_seen, list(c.keys)) for combos in graphs for c in combos]
    messages = spark.createDataFrame(rows, "message_id string, first_seen timestamp, "
                                           "keys array<string>")
    key_person, message_person = stitch(messages)
    got_key = {r["key"]: r["person_id"] for r in key_person.collect()}
    got_message = {r["message_id"]: r["person_id"] for r in message_person.collect()}
    assert got_message == expected_message
    assert got_key == expected_key
    assert len(set(expected_message.values())) > 50  # many persons, not one blob
