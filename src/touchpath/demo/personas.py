"""The demo's personas: saved segments a journey map can be filtered and compared by (a
persona in touchpath is a saved segment, by person property or by behaviour)."""

from __future__ import annotations

from touchpath.analytics.filters import (
    DidEvent,
    EventMatcher,
    HasProperties,
    PropertyFilter,
    Segment,
)

PERSONAS: dict[str, Segment] = {
    "Persona: newsletter readers": HasProperties((
        PropertyFilter("initial_channel", "eq", "email"),)),
    "Persona: social scrollers": HasProperties((
        PropertyFilter("initial_channel", "in", ["paid_social", "organic_social"]),)),
    "Persona: search shoppers": HasProperties((
        PropertyFilter("initial_channel", "in", ["paid_search", "organic_search"]),)),
    "Persona: repeat buyers": DidEvent(EventMatcher("Order Completed"), min_count=2),
    "Persona: support callers": DidEvent(EventMatcher("Support Ticket Opened")),
}
"""By first channel (planted: e-mail visitors convert about twice as well as paid social), by
repeat purchase, and by support contact (planted: ticket holders are detractors)."""


def save_personas(store: object) -> int:
    """Save :data:`PERSONAS` as segments; returns how many."""
    from touchpath.analytics.segments import save_segment

    for name, segment in PERSONAS.items():
        save_segment(store, name, segment)
    return len(PERSONAS)
