"""The identity graph's merge rules, independent of any engine.

A write batch brings *key combinations*: the identity keys seen together on one message
(``user:cust-1``, ``anon:device-9``, ``email:<sha256>``, ``phone:<sha256>``; an alias call's
``previousId`` as ``prev:<id>``). :func:`resolve` walks them in time order and decides, for each
combination, which person its message belongs to, which identities are new, which persons merge,
and which merges are refused.

Rules
- A message belongs to the person of its strongest key: user id, then e-mail, then phone, then
  anonymous id. Keys seen with it join that person (this is how a visitor's anonymous events before
  sign-up become the customer's: *late identification*).
- Two persons merge when a message links their keys, unless the merged person would hold more than
  ``max_user_ids`` distinct user ids: then the merge is refused and logged, so that a shared device
  or a kiosk does not fuse strangers. An explicit ``alias`` of a known user id always merges.
- The older person (first seen earlier; ties by id) keeps its id; the other's events are
  re-labelled.
- Blocked placeholder values ("null", "0", "anonymous", ...) are removed before this module runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

KIND_PRIORITY = ("user", "email", "phone", "anon")


def person_id_for(key: str) -> str:
    """The id of a person first known by ``key``: stable and opaque."""
    return "p_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def kind_of(key: str) -> str:
    return key.split(":", 1)[0]


@dataclass(frozen=True)
class Combo:
    """Identity keys seen together, with the first time and message they were seen on."""

    keys: tuple[str, ...]
    first_seen: datetime
    message_id: str


@dataclass(frozen=True)
class MergeRecord:
    outcome: str  # "linked" (a new key joined a person) | "merged" | "refused"
    kept_person: str
    merged_person: str
    key_a: str
    key_b: str
    event_time: datetime
    message_id: str
    reason: str


@dataclass
class Resolution:
    """What a batch changes in the identity graph."""

    person_of_combo: list[str] = field(default_factory=list)
    new_identities: list[tuple[str, str, str, str, datetime]] = field(default_factory=list)
    remap: dict[str, str] = field(default_factory=dict)
    log: list[MergeRecord] = field(default_factory=list)


@dataclass(frozen=True)
class KnownPerson:
    """A person already in the store, as far as the batch needs to know it."""

    first_seen: datetime
    user_keys: frozenset[str]


class _Graph:
    def __init__(self, known_keys: dict[str, str], known_persons: dict[str, KnownPerson],
                 max_user_ids: int) -> None:
        self.key_person = dict(known_keys)
        self.parent: dict[str, str] = {}
        self.first_seen = {p: info.first_seen for p, info in known_persons.items()}
        self.users = {p: set(info.user_keys) for p, info in known_persons.items()}
        self.max_user_ids = max_user_ids
        self.existing = set(known_persons)
        self.new_keys: dict[str, datetime] = {}
        self.log: list[MergeRecord] = []
        self.refused: set[tuple[str, str]] = set()

    def find(self, person: str) -> str:
        root = person
        while root in self.parent:
            root = self.parent[root]
        while person != root:  # path compression
            self.parent[person], person = root, self.parent[person]
        return root

    def person(self, key: str) -> str | None:
        found = self.key_person.get(key)
        return None if found is None else self.find(found)

    def create(self, key: str, seen: datetime) -> str:
        pid = person_id_for(key)
        self.first_seen.setdefault(pid, seen)
        self.users.setdefault(pid, set())
        self.attach(key, pid, seen)
        return pid

    def attach(self, key: str, pid: str, seen: datetime) -> None:
        self.key_person[key] = pid
        self.new_keys[key] = seen
        if key.startswith("user:"):
            self.users[pid].add(key)

    def link(self, pid: str, key: str, keys: list[str], combo: Combo) -> None:
        """Log that ``key`` joined ``pid`` because it came with the message's other keys."""
        other = next(k for k in keys if k != key)
        self.log.append(MergeRecord(
            "linked", pid, pid, other, key, combo.first_seen, combo.message_id,
            f"{key} seen with {other} on one message",
        ))

    def can_hold(self, pid: str, extra_users: set[str]) -> bool:
        return len(self.users[pid] | extra_users) <= self.max_user_ids

    def merge(self, a: str, b: str, combo: Combo, key_a: str, key_b: str, why: str,
              force: bool = False) -> str:
        """Merge persons ``a`` and ``b`` (roots); return the surviving root."""
        if not force and not self.can_hold(a, self.users[b]):
            pair = (min(a, b), max(a, b))
            if pair not in self.refused:
                self.refused.add(pair)
                self.log.append(MergeRecord(
                    "refused", a, b, key_a, key_b, combo.first_seen, combo.message_id,
                    f"{why}; refused: the person would hold "
                    f"{len(self.users[a] | self.users[b])} user ids "
                    f"(identity_max_user_ids = {self.max_user_ids})",
                ))
            return a
        keep, lose = sorted((a, b), key=lambda p: (self.first_seen[p], p))
        self.parent[lose] = keep
        self.users[keep] |= self.users.pop(lose)
        self.log.append(MergeRecord(
            "merged", keep, lose, key_a, key_b, combo.first_seen, combo.message_id, why,
        ))
        return keep


def _ordered(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=lambda k: KIND_PRIORITY.index(kind_of(k)))


def resolve(
    combos: Sequence[Combo],
    known_keys: dict[str, str],
    known_persons: dict[str, KnownPerson],
    max_user_ids: int = 1,
) -> Resolution:
    """Apply the merge rules to ``combos`` (any order; walked by first_seen, message_id).

    ``known_keys`` maps the stored keys that occur in the batch to their person;
    ``known_persons`` describes every stored person those keys belong to.
    """
    graph = _Graph(known_keys, known_persons, max_user_ids)
    order = sorted(range(len(combos)), key=lambda i: (combos[i].first_seen, combos[i].message_id))
    result = [""] * len(combos)
    for index in order:
        combo = combos[index]
        forced: set[str] = set()
        keys: list[str] = []
        for key in combo.keys:
            if key.startswith("prev:"):
                value = key[5:]
                if graph.person("user:" + value) is not None:
                    forced.add("user:" + value)
                    keys.append("user:" + value)
                else:
                    keys.append("anon:" + value)
            else:
                keys.append(key)
        keys = _ordered(dict.fromkeys(keys))
        anchor = keys[0]
        pid = graph.person(anchor)
        if pid is None:
            # Join the person of the strongest known key, unless that breaks the user cap.
            host = next((p for p in (graph.person(k) for k in keys[1:]) if p is not None), None)
            extra = {anchor} if anchor.startswith("user:") else set()
            if host is not None and graph.can_hold(host, extra):
                graph.attach(anchor, host, combo.first_seen)
                graph.link(host, anchor, keys, combo)
                pid = host
            else:
                # a refused join is logged by the merge attempt below
                pid = graph.create(anchor, combo.first_seen)
        for key in keys[1:]:
            other = graph.person(key)
            if other is None:
                graph.attach(key, pid, combo.first_seen)
                graph.link(pid, key, keys, combo)
            elif other != pid:
                # an alias of a known user id makes every merge of its message explicit,
                # whichever key happens to sort first
                why = (f"alias of {' and '.join(sorted(forced))} in one message" if forced
                       else f"{anchor} and {key} seen on one message")
                pid = graph.merge(pid, other, combo, anchor, key, why, force=bool(forced))
                pid = graph.find(pid)
        result[index] = pid

    resolution = Resolution()
    resolution.person_of_combo = [graph.find(p) for p in result]
    resolution.new_identities = [
        (key, kind_of(key), key.split(":", 1)[1], graph.find(graph.key_person[key]), seen)
        for key, seen in graph.new_keys.items()
    ]
    resolution.remap = {
        p: graph.find(p) for p in graph.existing if graph.find(p) != p
    }
    resolution.log = graph.log
    return resolution
