"""Voice of the customer: surveys (NPS, CSAT, CES) at touchpoints, their answers as journey
events, the metrics per stage and touchpoint, themes and sentiment of free text, and the closed
loop (follow-up cases for unhappy answers).

An answer is the track event ``Survey Answered`` of the person who gave it; its properties carry
``survey_id``, ``survey`` (the type of the scored question: ``nps``, ``csat``, ``ces`` or
``rating``), ``score``, ``scale_min``/``scale_max``, ``comment`` (free text), ``language``,
``touchpoint``, ``stage``, ``response_id`` and ``answers`` (every question's answer by id).
"""

from touchpath.voice.answers import Answer
from touchpath.voice.cases import list_cases, recovery_rate, update_case
from touchpath.voice.catalog import list_surveys, load_survey, save_survey, set_active
from touchpath.voice.drivers import DriversResult, DriversSpec, run_drivers
from touchpath.voice.metrics import MetricValue, ces, csat, nps
from touchpath.voice.record import import_answers, record_answer
from touchpath.voice.satisfaction import SatisfactionResult, SatisfactionSpec, run_satisfaction
from touchpath.voice.sentiment import LexiconScorer, SentimentScorer, register_scorer
from touchpath.voice.survey import Survey, load_survey_file, survey_from_dict
from touchpath.voice.themes import ThemesResult, ThemesSpec, run_themes

__all__ = [
    "Answer",
    "DriversResult",
    "DriversSpec",
    "LexiconScorer",
    "MetricValue",
    "SatisfactionResult",
    "SatisfactionSpec",
    "SentimentScorer",
    "Survey",
    "ThemesResult",
    "ThemesSpec",
    "ces",
    "csat",
    "import_answers",
    "list_cases",
    "list_surveys",
    "load_survey",
    "load_survey_file",
    "nps",
    "record_answer",
    "recovery_rate",
    "register_scorer",
    "run_drivers",
    "run_satisfaction",
    "run_themes",
    "save_survey",
    "set_active",
    "survey_from_dict",
    "update_case",
]
