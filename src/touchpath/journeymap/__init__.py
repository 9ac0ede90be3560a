"""The living journey map: stages as columns, lanes computed from the events, the emotion
curve from surveys, ranked pain points with opportunities, and KPIs per stage.
See ``docs/journey_map.md``."""

from touchpath.journeymap.analysis import JourneyMapResult, run_journey_map
from touchpath.journeymap.opportunities import (
    STATUSES,
    delete_opportunity,
    save_opportunity,
    saved_opportunities,
)
from touchpath.journeymap.spec import ClickRate, JourneyMapSpec

__all__ = ["STATUSES", "ClickRate", "JourneyMapResult", "JourneyMapSpec", "delete_opportunity",
           "run_journey_map", "save_opportunity", "saved_opportunities"]
