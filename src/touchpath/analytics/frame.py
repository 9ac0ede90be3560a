"""The events an analysis sees, as one Ibis expression: the counting rules in code.

:func:`scoped_events` applies a spec's :class:`~touchpath.analytics.filters.Filters` (person
filters and segments first, over all of a person's events; then date range, event filters and
channels). :func:`with_sessions` cuts each person's events into sessions. Every analysis starts
from these two, so that funnels, paths, retention and stages count the same people and events
(``docs/counting-rules.md``).

Order of events: by ``timestamp`` (after the clock-skew rule), then by ``message_id`` for events
with the same timestamp. :data:`ORDER` is that order; use it in every window.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from touchpath.analytics.filters import (
    EVENT_COLUMNS,
    PERSON_DERIVED,
    DateRange,
    DidEvent,
    EventMatcher,
    Filters,
    HasProperties,
    PersonList,
    PropertyFilter,
    SavedSegment,
    Segment,
    check_channels,
)
from touchpath.analytics.source import EventSource
from touchpath.analytics.zones import DEFAULT_ZONE, day_start, is_utc, zone_of
from touchpath.analytics.zones import today as local_today
from touchpath.errors import ValidationError
from touchpath.spec.timestamps import utcnow

ORDER = ("timestamp", "message_id")
"""The order of a person's events: time, then message id for ties."""

DEFAULT_SESSION_TIMEOUT_SECONDS = 30 * 60


@ibis.udf.scalar.builtin(name="json_extract_string")  # type: ignore[untyped-decorator]
def _duckdb_json_text(document: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's JSON text extraction (NULL when missing)."""


@ibis.udf.scalar.builtin(name="get_json_object")  # type: ignore[untyped-decorator]
def _spark_json_text(document: str, path: str) -> str:  # type: ignore[empty-body]
    """Spark's JSON text extraction (NULL when missing)."""


def json_text(table: ir.Table, column: str, key: str) -> ir.StringValue:
    """The value at ``key`` (dots for nesting) of a JSON column, as text (numbers as written)."""
    parts = key.split(".")
    backend = _backend_name(table)
    if backend == "pyspark":
        return _spark_json_text(table[column], "$." + ".".join(parts))
    path = "$." + ".".join('"' + p.replace('"', '') + '"' for p in parts)
    return _duckdb_json_text(table[column], path)


def on_spark(table: ir.Table) -> bool:
    """Whether ``table`` runs on the Spark backend (which lacks some of DuckDB's functions)."""
    return _backend_name(table) == "pyspark"


def _backend_name(table: ir.Table) -> str:
    try:
        return str(table.get_backend().name)
    except Exception:  # an unbound memtable compiles as DuckDB
        return "duckdb"


@contextmanager
def materialized(table: ir.Table) -> Iterator[ir.Table]:
    """``table`` computed once for several queries: a cached DataFrame on Spark (unpersisted
    at the end), a temporary table on DuckDB (dropped at the end). The temporary table counts
    against DuckDB's memory limit and spills to disk, where an Arrow table in the process
    would not: the 15.7M sessions of 50M events took the process to 6.6 GB that way."""
    if _backend_name(table) == "pyspark":
        with table.cache() as cached:
            yield cached
        return
    kept = stored(table)
    if kept is table:  # an unbound expression: computed in this process
        yield ibis.memtable(table.to_pyarrow())
        return
    try:
        yield kept
    finally:  # now, not when the last expression using it is collected
        _drop_temporary(kept.get_backend(), kept.get_name())


@contextmanager
def computed_once(table: ir.Table) -> Iterator[ir.Table]:
    """``table`` computed once although one query reads it several times: cached on Spark,
    which would compute a common table expression again at every reference; unchanged on
    DuckDB, which materialises a CTE that is read more than once."""
    if _backend_name(table) != "pyspark":
        yield table
        return
    with table.cache() as cached:
        yield cached


def stored(table: ir.Table) -> ir.Table:
    """``table`` computed now into a temporary table of the engine, dropped once no expression
    refers to it (DuckDB); ``table`` itself on Spark, which plans every join of a long query on
    its own. DuckDB runs a chain of hash joins as one pipeline that holds the hash tables of all
    its joins in memory at once; a chain stored after each join holds one at a time."""
    if _backend_name(table) == "pyspark":
        return table
    try:
        backend = table.get_backend()
    except Exception:  # an unbound expression: nothing to store it in
        return table
    name = ibis.util.gen_name("touchpath_part")
    kept = backend.create_table(name, table, temp=True)
    weakref.finalize(kept.op(), _drop_temporary, backend, name)
    return kept


def _drop_temporary(backend: Any, name: str) -> None:
    """(Ibis' own ``drop_table`` writes SQL that DuckDB 2 refuses.)"""
    try:
        backend.raw_sql(f'DROP TABLE IF EXISTS temp.main."{name}"')
    except Exception:  # the connection is closed, and its temporary tables went with it
        return


def set_aside(table: ir.Table, going: Callable[[ir.Table], ir.BooleanValue]
              ) -> tuple[ir.Table, ir.Table | None]:
    """The rows of ``table`` still ``going``, and the others set aside, for a chain of joins
    that only the going rows need to go through: on DuckDB, ``table`` is stored (see
    :func:`stored`) and split in two. On Spark, ``(table, None)``: the rows that stopped go on
    through the chain (a chain's joins must leave them unchanged), because Spark would compute
    the chain again for each part it was split into."""
    if _backend_name(table) == "pyspark":
        return table, None
    kept = stored(table)
    if kept is table:
        return table, None
    test = going(kept)
    return kept.filter(test), kept.filter(~test)


def property_value(table: ir.Table, name: str) -> ir.Value:
    """The column or JSON value a filter names (``channel``, ``properties.plan``, ...)."""
    head, _, rest = name.partition(".")
    if rest and head in ("properties", "context", "traits"):
        return json_text(table, head, rest)
    if name in EVENT_COLUMNS or name in table.columns:
        return table[name]
    raise ValidationError(f"unknown property {name!r}", field="property")


def condition(value: ir.Value, rule: PropertyFilter) -> ir.BooleanValue:
    """The filter ``rule`` applied to ``value``, never NULL (see :class:`PropertyFilter`)."""
    text = value.cast("string")
    number = value if value.type().is_numeric() else text.try_cast("float64")
    op = rule.op
    if op == "is_set":
        return value.notnull()
    if op == "is_not_set":
        return value.isnull()
    if op in ("eq", "neq"):
        match = _equals(text, number, rule.value)
        return match if op == "eq" else ~match
    if op in ("in", "not_in"):
        match = ibis.or_(*(_equals(text, number, v) for v in rule.value))
        return match if op == "in" else ~match
    if op in ("contains", "not_contains"):
        match = text.lower().contains(str(rule.value).lower()).fill_null(False)
        return match if op == "contains" else ~match
    if op == "regex":
        return text.re_search(str(rule.value)).fill_null(False)
    bound = float(rule.value)
    compared = {"gt": number > bound, "gte": number >= bound,
                "lt": number < bound, "lte": number <= bound}[op]
    return compared.fill_null(False)


def _equals(text: ir.StringValue, number: ir.NumericValue, value: Any) -> ir.BooleanValue:
    if isinstance(value, bool):
        return (text == ("true" if value else "false")).fill_null(False)
    if isinstance(value, int | float):
        return (number == float(value)).fill_null(False)
    return (text == str(value)).fill_null(False)


def _ordered_aggregates(value: ir.Value) -> bool:
    """Does the engine behind ``value`` take ``order_by`` in aggregates (DuckDB does, Spark
    does not)? Ordered aggregates are about 3x faster on DuckDB than the neutral form."""
    try:
        return value._find_backend().name != "pyspark"  # type: ignore[no-any-return]
    except Exception:  # an unbound expression: take the form every engine runs
        return False


def in_order(value: ir.Value, *keys: ir.Value) -> ir.ArrayValue:
    """An aggregate: ``value`` of every row of the group, in the order of ``keys``.

    Spark has no ordered ``collect``; there the keys travel with the value in a struct, the
    array of structs is sorted (both engines order structs field by field) and the keys are
    dropped.
    """
    if _ordered_aggregates(value):
        return value.collect(order_by=list(keys))
    packed = ibis.struct({**{f"_k{i}": k for i, k in enumerate(keys)}, "_v": value})
    return packed.collect().sort().map(lambda e: e._v)


def first_in_order(value: ir.Value, *keys: ir.Value) -> ir.Value:
    """An aggregate: ``value`` at the group's first row in the order of ``keys``. (Spark's
    ``min_by`` skips rows whose value is NULL: use it on NOT NULL columns.)"""
    if _ordered_aggregates(value):
        return value.first(order_by=list(keys), include_null=True)
    return value.argmin(ibis.struct({f"_k{i}": k for i, k in enumerate(keys)}))


def matches(table: ir.Table, matcher: EventMatcher) -> ir.BooleanValue:
    """Whether each event of ``table`` is one ``matcher`` counts."""
    if matcher.any_event:
        test: ir.BooleanValue = ibis.literal(True)
    elif len(matcher.names) == 1:
        test = table.event == matcher.names[0]
    else:
        test = table.event.isin(list(matcher.names))
    for rule in matcher.where:
        test = test & condition(property_value(table, rule.property), rule)
    return test


def date_bounds(date_range: DateRange | None, today: date | None = None,
                zone: str = DEFAULT_ZONE) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` as naive UTC instants: where the first day begins and where the day
    after the last begins, in ``zone`` (the end day is included whole). ``last_days`` counts
    back from ``today`` (by default today in ``zone``)."""
    first, after = date_days(date_range, today, zone)
    return (None if first is None else day_start(first, zone),
            None if after is None else day_start(after, zone))


def date_days(date_range: DateRange | None, today: date | None = None,
              zone: str = DEFAULT_ZONE) -> tuple[date | None, date | None]:
    """The first day of ``date_range`` and the day after its last (either may be None)."""
    if date_range is None:
        return None, None
    if date_range.last_days is not None:
        today = today or (utcnow().date() if is_utc(zone) else local_today(zone))
        return today - timedelta(days=date_range.last_days - 1), today + timedelta(days=1)
    return date_range.start, (date_range.end + timedelta(days=1) if date_range.end else None)


def person_properties(events: ir.Table, names: list[str]) -> ir.Table:
    """One row per person: ``person_id`` and each named person property.

    A trait is the latest non-empty value the person's events carry in ``traits``;
    ``initial_<column>`` is the column of the person's first event.
    """
    persons = events.select("person_id").distinct()
    first_at = [n for n in names if n in PERSON_DERIVED]
    if first_at:
        ranked = events.mutate(_rank=ibis.row_number().over(
            group_by=events.person_id, order_by=[events[c] for c in ORDER]))
        first = ranked.filter(ranked._rank == 0).select(
            "person_id", **{n: ranked[n.removeprefix("initial_")] for n in first_at})
        persons = persons.left_join(first, "person_id").drop("person_id_right")
    for name in names:
        if name in PERSON_DERIVED:
            continue
        value = json_text(events, "traits", name)
        having = events.filter(value.notnull()).mutate(_value=value)
        ranked = having.mutate(_rank=ibis.row_number().over(
            group_by=having.person_id,
            order_by=[ibis.desc(having[c]) for c in ORDER]))
        latest = ranked.filter(ranked._rank == 0).select("person_id", **{name: ranked._value})
        persons = persons.left_join(latest, "person_id").drop("person_id_right")
    return persons


def segment_persons(source: EventSource, segment: Segment, end: datetime | None,
                    saved: dict[str, Segment] | None = None) -> tuple[ir.Table, bool]:
    """The ``person_id`` table of a segment, and whether it is a negation (people *not* in it)."""
    events = source.table("events")
    if isinstance(segment, SavedSegment):
        from touchpath.analytics.segments import load_segment

        return segment_persons(source, load_segment(source, segment.name), end, saved)
    if isinstance(segment, PersonList):
        ids = ibis.memtable({"person_id": list(segment.person_ids)},
                            schema={"person_id": "string"})
        return ids, False
    if isinstance(segment, HasProperties):
        props = person_properties(events, sorted({r.property for r in segment.where}))
        test = ibis.and_(*(condition(props[r.property], r) for r in segment.where))
        return props.filter(test).select("person_id"), False
    assert isinstance(segment, DidEvent)
    did = events.filter(matches(events, segment.event))
    if segment.within_days is not None:
        until = end or utcnow()
        did = did.filter((did.timestamp >= until - timedelta(days=segment.within_days))
                         & (did.timestamp < until))
    counted = did.group_by("person_id").agg(_n=did.count())
    return counted.filter(counted._n >= segment.min_count).select("person_id"), segment.negate


def scoped_events(source: EventSource, filters: Filters, *, sessions: bool = False,
                  session_timeout_seconds: int = DEFAULT_SESSION_TIMEOUT_SECONDS,
                  split_on_campaign: bool = False, today: date | None = None) -> ir.Table:
    """The events an analysis sees, after the counting rules and ``filters``.

    With ``sessions``, ``session_id`` is touchpath's session (see :func:`with_sessions`),
    computed from all of a person's events before any event filter.
    """
    check_channels(filters.channels, "filters.channels")
    start, end = date_bounds(filters.date_range, today, zone_of(source, filters.timezone))
    events = in_person_scope(source, source.table("events"), filters, end)
    if sessions:
        events = _sessions(source, events, session_timeout_seconds, split_on_campaign)
    if start is not None:
        events = events.filter(events.timestamp >= start)
    if end is not None:
        events = events.filter(events.timestamp < end)
    for rule in filters.where:
        events = events.filter(condition(property_value(events, rule.property), rule))
    if filters.channels:
        events = events.filter(events.channel.isin(list(filters.channels)))
    return events


def in_person_scope(source: EventSource, table: ir.Table, filters: Filters,
                    end: datetime | None) -> ir.Table:
    """The rows of ``table`` (which has ``person_id``) of the people ``filters`` keep: its
    person filters and segments, judged on all of a person's events (``end``: where the
    date range ends, for segments counted "within days")."""
    events = source.table("events")
    if filters.person_where:
        props = person_properties(events, sorted({r.property for r in filters.person_where}))
        test = ibis.and_(*(condition(props[r.property], r) for r in filters.person_where))
        table = table.semi_join(props.filter(test).select("person_id"), "person_id")
    for segment in filters.segments:
        persons, negate = segment_persons(source, segment, end)
        join = table.anti_join if negate else table.semi_join
        table = join(persons, "person_id")
    return table


def _sessions(source: EventSource, events: ir.Table, timeout_seconds: int,
              split_on_campaign: bool = False) -> ir.Table:
    """Sessions from the store's ``session_index`` when it follows this timeout (brought up to
    date first), else computed by :func:`with_sessions`: same numbers, a fraction of the cost."""
    refresh = getattr(source, "refresh_sessions", None)
    if (refresh is not None and not split_on_campaign and "session_index" in events.columns
            and getattr(source, "session_timeout_seconds", None) == timeout_seconds):
        refresh()
        return events.mutate(
            session_id=events.person_id + "#" + events.session_index.cast("string"))
    return with_sessions(events, timeout_seconds, split_on_campaign=split_on_campaign)


def with_sessions(events: ir.Table, timeout_seconds: int = DEFAULT_SESSION_TIMEOUT_SECONDS,
                  *, split_on_campaign: bool = False) -> ir.Table:
    """Replace ``session_id`` by touchpath's session: a person's events in :data:`ORDER`, cut
    where more than ``timeout_seconds`` pass between two events. The id is
    ``<person_id>#<n>``, ``n`` counting the person's sessions from 1; also adds
    ``session_index`` (``n``).

    With ``split_on_campaign`` (Google Analytics' old rule), an event that carries a campaign
    (``utm_source``, ``utm_medium``, ``utm_campaign`` not all NULL) also starts a session when
    that campaign (the three values) differs from the campaign of the session so far: the
    campaign of the session's first event, or none if it carried none.
    """
    if timeout_seconds <= 0:
        raise ValidationError("must be positive", field="session_timeout_seconds")
    order = [events[c] for c in ORDER]
    window = ibis.window(group_by=events.person_id, order_by=order)
    previous = events.timestamp.lag().over(window)
    starts = (previous.isnull()
              | (events.timestamp > previous + ibis.interval(seconds=timeout_seconds)))
    marked = events.mutate(_starts=starts.cast("int64"))
    if split_on_campaign:
        marked = _campaign_starts(marked)
    numbered = marked.mutate(session_index=marked._starts.cumsum(
        group_by=marked.person_id, order_by=[marked[c] for c in ORDER]))
    return numbered.mutate(
        session_id=numbered.person_id + "#" + numbered.session_index.cast("string"),
    ).drop("_starts")


def campaign_key(events: ir.Table) -> ir.StringValue:
    """The campaign an event carries as one text (NULL when it carries none): each of
    ``utm_source``, ``utm_medium``, ``utm_campaign`` as ``<length>:<value>`` or ``-``."""
    parts = [ibis.ifelse(events[c].isnull(), "-", events[c].length().cast("string") + ":"
                         + events[c]) for c in ("utm_source", "utm_medium", "utm_campaign")]
    carries = ibis.or_(*(events[c].notnull() for c in ("utm_source", "utm_medium",
                                                        "utm_campaign")))
    return ibis.ifelse(carries, parts[0] + ";" + parts[1] + ";" + parts[2],
                       ibis.null("string"))


def _campaign_starts(marked: ir.Table) -> ir.Table:
    """``_starts`` also at campaign changes. Within a timeout-cut visit every session after the
    first starts at a campaign-carrying event, so "the campaign of the session so far" is the
    campaign of the visit's previous campaign-carrying event (none if there is none). That
    event is found with running maxima over the person's events (one sort): the latest
    earlier campaign-carrying event, as ``<position>|<campaign>`` text, and the position of
    the latest visit start."""
    order = [marked[c] for c in ORDER]
    window = ibis.window(group_by=marked.person_id, order_by=order)
    marked = marked.mutate(_pos=ibis.row_number().over(window), _key=campaign_key(marked))
    order = [marked[c] for c in ORDER]
    earlier = ibis.window(group_by=marked.person_id, order_by=order, rows=(None, -1))
    so_far = ibis.cumulative_window(group_by=marked.person_id, order_by=order)
    position = marked._pos.cast("string").lpad(20, "0")
    tagged = ibis.ifelse(marked._key.notnull(), position + "|" + marked._key,
                         ibis.null("string"))
    marked = marked.mutate(
        _last_tag=tagged.max().over(earlier),
        _visit_at=ibis.ifelse(marked._starts == 1, marked._pos, ibis.null("int64"))
        .max().over(so_far))
    last_at = marked._last_tag.left(20).cast("int64")
    last_key = marked._last_tag.substr(21)
    same_visit = marked._last_tag.notnull() & (last_at >= marked._visit_at)
    split = marked._key.notnull() & (~same_visit | (last_key != marked._key))
    return marked.mutate(_starts=((marked._starts == 1) | split).cast("int64")).drop(
        "_pos", "_key", "_last_tag", "_visit_at")


def check_events(source: EventSource, matchers: dict[str, EventMatcher]) -> None:
    """Raise :class:`ValidationError` naming the field (``steps[2].event``) of the first event
    name the source has never seen, with the closest known names. An empty source knows no
    names and accepts any (its results are empty, not errors)."""
    import difflib

    from touchpath.analytics.source import event_names

    if all(matcher.any_event for matcher in matchers.values()):
        return  # nothing to look up (on Spark, the lookup is a query of seconds)
    known = event_names(source)
    if not known:
        return
    for path, matcher in matchers.items():
        if matcher.any_event:
            continue
        for name in matcher.names:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=3)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ValidationError(f"unknown event {name!r}{hint}", field=f"{path}.event")
