"""The paths spec: where paths start or end, per person or session, how steps are named.

Kept apart from the executor (:mod:`touchpath.analytics._paths_query`) so that the rules a
spec must follow read in one place. The public names are re-exported by
:mod:`touchpath.analytics.paths`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from touchpath.analytics.codec import check_int
from touchpath.analytics.filters import EventMatcher, Filters
from touchpath.errors import ValidationError

MAX_STEPS = 20
PATH_END = "(end)"
"""The step a path takes once it has no more events (the step matrix' and Sankey's end node)."""
GAP = "…"
"""The step standing for the middle of a too-long path between a start and an end event."""
PAGE_EVENTS = ("$page", "$screen")
REGEX_PREFIX = "re:"


@dataclass(frozen=True)
class PathsSpec:
    """Paths: the sequences of events people (or sessions) follow.

    ``start`` alone: paths from the first ``start`` event on. ``end`` alone: the steps that
    lead to the first ``end`` event. Both: from the first ``start`` to the first ``end`` after
    it (entities that never reach ``end`` are left out). Neither: paths from each entity's
    first event. ``occurrence="last"`` anchors on the last ``start`` (or, without a start, the
    last ``end``) instead: what people did after they last did X.

    >>> PathsSpec(start=EventMatcher("Product Viewed"), max_steps=4, top=10)  # doctest: +SKIP
    """

    start: EventMatcher | None = None
    end: EventMatcher | None = None
    per: Literal["person", "session"] = "person"
    max_steps: int = 5
    top: int = 20
    exclude: tuple[str, ...] = ()
    groups: tuple[tuple[str, str], ...] = ()
    page_names: bool = False
    collapse_repeats: bool = True
    occurrence: Literal["first", "last"] = "first"
    min_edge_weight: int = 1
    session_timeout_seconds: int = 30 * 60
    filters: Filters = field(default_factory=Filters)

    def __post_init__(self) -> None:
        if self.per not in ("person", "session"):
            raise ValidationError(f"must be 'person' or 'session', got {self.per!r}",
                                  field="per")
        if self.occurrence not in ("first", "last"):
            raise ValidationError(f"must be 'first' or 'last', got {self.occurrence!r}",
                                  field="occurrence")
        check_int(self.max_steps, "max_steps", 2, MAX_STEPS)
        if self.between and self.max_steps < 3:
            raise ValidationError("paths between a start and an end need at least 3 steps "
                                  "(start, …, end)", field="max_steps")
        check_int(self.top, "top", 1, 10_000)
        check_int(self.min_edge_weight, "min_edge_weight", 1, None)
        check_int(self.session_timeout_seconds, "session_timeout_seconds", 1, None)
        for i, name in enumerate(self.exclude):
            if not isinstance(name, str) or not name:
                raise ValidationError("needs an event name", field=f"exclude[{i}]")
            for anchor in ("start", "end"):
                matcher: EventMatcher | None = getattr(self, anchor)
                if matcher is not None and name in matcher.names:
                    raise ValidationError(f"{name!r} is the {anchor} event; it cannot be "
                                          "excluded", field=f"exclude[{i}]")
        for i, group in enumerate(self.groups):
            if (not isinstance(group, tuple) or len(group) != 2
                    or not all(isinstance(part, str) for part in group)):
                raise ValidationError("expected [label, pattern]", field=f"groups[{i}]")
            label, pattern = group
            if not label:
                raise ValidationError("needs a label", field=f"groups[{i}][0]")
            if label in (PATH_END, GAP):
                raise ValidationError(f"{label!r} is reserved", field=f"groups[{i}][0]")
            if not pattern or pattern == REGEX_PREFIX:
                raise ValidationError("needs a pattern ('Checkout*' or 're:^Email ')",
                                      field=f"groups[{i}][1]")
            if pattern.startswith(REGEX_PREFIX):
                try:
                    re.compile(pattern.removeprefix(REGEX_PREFIX))
                except re.error as exc:
                    raise ValidationError(f"not a regular expression: {exc}",
                                          field=f"groups[{i}][1]") from exc

    @property
    def between(self) -> bool:
        return self.start is not None and self.end is not None


def wildcard_regex(pattern: str) -> str:
    """An anchored regular expression for a wildcard pattern (``*`` = any text), written in the
    subset both Python and RE2 (DuckDB) read: punctuation escaped with a backslash."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char.isascii() and not char.isalnum() and char not in " _":
            parts.append("\\" + char)
        else:
            parts.append(char)
    return "^" + "".join(parts) + "$"


def group_regex(pattern: str) -> str:
    """The regular expression a group pattern stands for (``re:`` patterns search anywhere)."""
    if pattern.startswith(REGEX_PREFIX):
        return pattern.removeprefix(REGEX_PREFIX)
    return wildcard_regex(pattern)
