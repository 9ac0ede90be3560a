"""Every event the map sees, with the journey stage the person was in.

``at``: the stage the person is in once the event happened (the event's own stage if it
matches a rule, else the stage of the person's latest staged event before it; NULL before the
person's first staged event). ``before``: the stage just before the event (``at`` of the
person's previous event). Lanes count events by ``at``: the event that enters a stage belongs
to it. Survey answers count by ``before``: an answer rates the experience the person was in
when asked, and must not be moved by the stage its own score enters (a promoter's answer
enters Advocacy in the default model).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from touchpath.analytics.frame import ORDER
from touchpath.analytics.source import EventSource
from touchpath.analytics.stages import StagesSpec, staged_events
from touchpath.journeymap.spec import JourneyMapSpec

KEEP = ("event", "channel", "source", "revenue")
SPREAD = 1 << 20
"""``_pos * SPREAD + stage``: a running maximum of it carries the latest stage forward (one
window, the same on every engine); a model has fewer than 2**20 stages."""


def stages_spec(spec: JourneyMapSpec) -> StagesSpec:
    return StagesSpec(model=spec.model, language=spec.language, filters=spec.filters)


def events_in_stages(source: EventSource, spec: JourneyMapSpec) -> ir.Table:
    """``person_id``, ``timestamp``, ``message_id``, the :data:`KEEP` columns, ``_pos``,
    ``stage`` (the event's own), ``at`` and ``before`` (see the module's docstring)."""
    events = staged_events(source, stages_spec(spec), KEEP)
    order = [events[c] for c in ORDER]
    so_far = ibis.cumulative_window(group_by=events.person_id, order_by=order)
    mark = ibis.cases((events.stage.notnull(), events._pos * SPREAD + events.stage),
                      else_=ibis.null("int64"))
    events = events.mutate(_mark=mark.max().over(so_far))
    events = events.mutate(at=(events._mark % SPREAD).cast("int64")).drop("_mark")
    window = ibis.window(group_by=events.person_id, order_by=[events[c] for c in ORDER])
    return events.mutate(before=events.at.lag().over(window))
