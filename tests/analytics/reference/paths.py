"""Paths in plain Python: each entity's ordered events, walked one by one.

Mirrors docs/paths.md rule by rule, with none of the executor's tricks (no row numbers, no
windows): find the anchor in a list, slice, merge repeats, cut to ``max_steps``, then count.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from tests.analytics.reference.common import Event, is_match, scoped
from touchpath.analytics.paths import GAP, PATH_END, SEPARATOR, PathsSpec


def label_of(event: Event, spec: PathsSpec) -> str:
    label = str(event["event"])
    if spec.page_names and label in ("$page", "$screen") and event.get("name"):
        label = f"{label}: {event['name']}"
    for name, pattern in spec.groups:
        if pattern.startswith("re:"):
            hit = re.search(pattern[3:], label) is not None
        else:
            regex = ".*".join(re.escape(part) for part in pattern.split("*"))
            hit = re.fullmatch(regex, label, flags=re.DOTALL) is not None
        if hit:
            return name
    return label


def path_of(events: list[Event], spec: PathsSpec) -> list[str] | None:
    """One entity's path (step names), or None when it has no path (no anchor)."""
    events = [e for e in events if e["event"] not in spec.exclude]
    if spec.start is not None:
        hits = [i for i, e in enumerate(events) if is_match(e, spec.start)]
        if not hits:
            return None
        events = events[hits[0] if spec.occurrence == "first" else hits[-1]:]
    if spec.end is not None:
        hits = [i for i, e in enumerate(events) if is_match(e, spec.end)]
        if spec.start is not None:
            hits = [i for i in hits if i > 0]  # strictly after the start event
        if not hits:
            return None
        last = hits[-1] if spec.start is None and spec.occurrence == "last" else hits[0]
        events = events[:last + 1]
    if not events:
        return None
    labels = [label_of(e, spec) for e in events]
    if spec.collapse_repeats:
        merged: list[str] = []
        for label in labels:
            if not merged or merged[-1] != label:
                merged.append(label)
        labels = merged
    limit = spec.max_steps
    if spec.start is not None and spec.end is not None:
        if len(labels) > limit:
            tail = (limit - 1) // 2
            head = limit - 1 - tail
            labels = labels[:head] + [GAP] + (labels[len(labels) - tail:] if tail else [])
    elif spec.end is not None:
        labels = labels[-limit:]
    else:
        labels = labels[:limit]
    return labels


def entity_paths(all_events: list[Event], spec: PathsSpec) -> dict[str, list[str]]:
    """Every entity's path: person or session id → step names."""
    events = scoped(all_events, spec.filters, with_sessions=spec.per == "session",
                    session_timeout_seconds=spec.session_timeout_seconds)
    key = "session_id" if spec.per == "session" else "person_id"
    grouped: dict[str, list[Event]] = {}
    for event in events:  # already in (person, timestamp, message id) order
        grouped.setdefault(event[key], []).append(event)
    out = {}
    for entity, entity_events in grouped.items():
        path = path_of(entity_events, spec)
        if path is not None:
            out[entity] = path
    return out


def paths(all_events: list[Event], spec: PathsSpec) -> dict[str, Any]:
    """Everything a PathsResult holds, as plain values:

    ``entities``; ``paths``: [(path text, count)] most common first, ties by text, top N;
    ``distinct``; ``edges``: {(k, source, target): count} with the end marker and at least
    ``min_edge_weight``; ``transitions``: {(source, target): count}; ``step_matrix``:
    {(event, k): count of entities}, the end marker included.
    """
    by_entity = entity_paths(all_events, spec)
    counted = Counter(SEPARATOR.join(p) for p in by_entity.values())
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    edges: Counter[tuple[int, str, str]] = Counter()
    at: Counter[tuple[str, int]] = Counter()
    for path in by_entity.values():
        walked = [*path, PATH_END] if len(path) < spec.max_steps else path
        for k in range(1, spec.max_steps + 1):
            at[(walked[k - 1] if k <= len(walked) else PATH_END, k)] += 1
        for k in range(1, len(walked)):
            edges[(k, walked[k - 1], walked[k])] += 1
    transitions: Counter[tuple[str, str]] = Counter()
    for (_, source, target), count in edges.items():
        transitions[(source, target)] += count
    return {
        "entities": len(by_entity),
        "paths": ranked[:spec.top],
        "distinct": len(counted),
        "edges": {e: c for e, c in edges.items() if c >= spec.min_edge_weight},
        "transitions": dict(transitions),
        "step_matrix": dict(at),
    }
