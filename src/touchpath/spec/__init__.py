"""The event model: Segment-spec messages, their limits and timestamp rules."""
