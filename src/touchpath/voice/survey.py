"""What a survey is: its questions in several languages, who sees it and when, and which answers
open a follow-up case.

A survey is a frozen dataclass read from YAML or JSON by the analytics codec (so an error names
the field: ``questions[1].text``). It has at most one *scored* question (NPS, CSAT, CES or a
rating): that question's answer is the ``score`` of the ``Survey Answered`` event, which every
metric reads. Texts are given per language (``{"en": ..., "he": ..., "ar": ...}``); a language
missing from a text falls back to the survey's ``default_language``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from touchpath.analytics.codec import from_dict
from touchpath.analytics.filters import PropertyFilter
from touchpath.errors import ValidationError
from touchpath.journey.stages import check_template, load_stages

QuestionType = Literal["nps", "csat", "ces", "rating", "single_choice", "multiple_choice", "text"]
SCORED: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
"""The fixed scale of each standard metric (CES 2.0: 1 = strongly disagree it was easy, 7 =
strongly agree)."""
RTL_LANGUAGES = frozenset({"he", "ar", "fa", "ur", "yi"})
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")

Text = dict[str, str]
"""A text in several languages: ``{"en": "How likely...", "he": "...", "ar": "..."}``."""

DEFAULT_LABELS: dict[str, Text] = {
    "submit": {"en": "Send", "he": "שליחה", "ar": "إرسال"},
    "close": {"en": "Close", "he": "סגירה", "ar": "إغلاق"},
    "thanks": {"en": "Thank you!", "he": "תודה רבה!", "ar": "شكرًا لك!"},
    "next": {"en": "Next", "he": "הבא", "ar": "التالي"},
}
DEFAULT_SCALE_LABELS: dict[str, tuple[Text, Text]] = {
    "nps": ({"en": "Not at all likely", "he": "בכלל לא סביר", "ar": "غير محتمل إطلاقًا"},
            {"en": "Extremely likely", "he": "סביר מאוד", "ar": "محتمل جدًا"}),
    "csat": ({"en": "Very dissatisfied", "he": "לא מרוצה בכלל", "ar": "غير راضٍ إطلاقًا"},
             {"en": "Very satisfied", "he": "מרוצה מאוד", "ar": "راضٍ جدًا"}),
    "ces": ({"en": "Strongly disagree", "he": "לא מסכים בכלל", "ar": "لا أوافق بشدة"},
            {"en": "Strongly agree", "he": "מסכים מאוד", "ar": "أوافق بشدة"}),
    "rating": ({"en": "Poor", "he": "גרוע", "ar": "ضعيف"},
               {"en": "Excellent", "he": "מצוין", "ar": "ممتاز"}),
}


@dataclass(frozen=True)
class Choice:
    id: str
    text: Text


@dataclass(frozen=True)
class FollowUp:
    """An open question asked when the scored answer is between ``min_score`` and
    ``max_score`` (inclusive), e.g. "What could we do better?" for NPS 0-6. Its answer is the
    answer's ``comment``."""

    min_score: int
    max_score: int
    text: Text


@dataclass(frozen=True)
class Question:
    id: str
    type: QuestionType
    text: Text
    choices: tuple[Choice, ...] = ()
    scale_max: int | None = None
    """The top of a ``rating`` scale (1 to this, default 5); fixed for nps, csat and ces."""
    min_label: Text | None = None
    max_label: Text | None = None
    follow_up: tuple[FollowUp, ...] = ()
    required: bool = True

    @property
    def scale(self) -> tuple[int, int] | None:
        if self.type in SCORED:
            return SCORED[self.type]
        if self.type == "rating":
            return 1, self.scale_max or 5
        return None


@dataclass(frozen=True)
class Trigger:
    """When a survey may show: after an event (with property conditions), or when the person
    enters a journey stage (an event that matches the stage's entry rules), or on any page
    view when both are empty."""

    event: str | None = None
    stage: str | None = None
    where: tuple[PropertyFilter, ...] = ()


@dataclass(frozen=True)
class Targeting:
    triggers: tuple[Trigger, ...] = ()
    segment: str | None = None
    """The name of a saved segment the person must be in."""
    sample_percent: float = 100.0
    """The share of eligible people who ever see the survey (decided once per person)."""
    once_per_person: bool = True
    """Never show it again to a person who answered or dismissed it."""
    min_days_between_surveys: int = 30
    """No survey at all to a person shown any survey in the last N days (0: no cap)."""


@dataclass(frozen=True)
class CaseRule:
    """Which answers open a follow-up case: a score band, keywords in the comment, or both
    (both must hold when both are given)."""

    name: str
    min_score: float | None = None
    max_score: float | None = None
    keywords: tuple[str, ...] = ()
    owner: str | None = None
    due_hours: int = 48
    webhook_url: str | None = None


@dataclass(frozen=True)
class Survey:
    kind: ClassVar[str] = "survey"

    id: str
    name: str
    """The survey's name for the team (lists, reports)."""
    questions: tuple[Question, ...]
    default_language: str = "en"
    title: Text | None = None
    """The heading customers see (the survey link's page), per language; else the name."""
    targeting: Targeting = field(default_factory=Targeting)
    cases: tuple[CaseRule, ...] = ()
    labels: dict[str, Text] = field(default_factory=dict)
    stage_model: str = "default"
    """The stage template whose stages triggers name and answers are placed in."""
    active: bool = True

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValidationError("use 1-64 lower-case letters, digits, '_', '-' or '.'",
                                  field="id")
        if not _LANGUAGE.match(self.default_language):
            raise ValidationError("a language code such as 'en', 'he' or 'ar'",
                                  field="default_language")
        if not self.questions:
            raise ValidationError("a survey needs at least one question", field="questions")
        seen: set[str] = set()
        scored = 0
        for i, q in enumerate(self.questions):
            _check_question(q, f"questions[{i}]", self.default_language)
            if q.id in seen:
                raise ValidationError(f"question id {q.id!r} is used twice",
                                      field=f"questions[{i}].id")
            seen.add(q.id)
            scored += q.scale is not None
        if scored > 1:
            raise ValidationError("a survey has at most one scored question (nps, csat, ces or "
                                  "rating); ask another in a second survey", field="questions")
        check_template(self.stage_model, "stage_model", hint="")
        t = self.targeting
        if not 0 < t.sample_percent <= 100:
            raise ValidationError("between 0 (exclusive) and 100",
                                  field="targeting.sample_percent")
        if t.min_days_between_surveys < 0:
            raise ValidationError("0 or more days", field="targeting.min_days_between_surveys")
        stage_ids = load_stages(self.stage_model).ids
        for i, trig in enumerate(t.triggers):
            if trig.event and trig.stage:
                raise ValidationError("a trigger is an event or a stage, not both",
                                      field=f"targeting.triggers[{i}]")
            if trig.stage and trig.stage not in stage_ids:
                raise ValidationError(f"no stage {trig.stage!r} in {self.stage_model!r}; "
                                      f"stages: {', '.join(stage_ids)}",
                                      field=f"targeting.triggers[{i}].stage")
        for i, rule in enumerate(self.cases):
            where = f"cases[{i}]"
            if rule.min_score is None and rule.max_score is None and not rule.keywords:
                raise ValidationError("a case rule needs a score band or keywords", field=where)
            if (rule.min_score is not None or rule.max_score is not None) and scored == 0:
                raise ValidationError("a score band needs a scored question", field=where)
            if rule.due_hours < 1:
                raise ValidationError("at least 1 hour", field=f"{where}.due_hours")
            if rule.webhook_url and not rule.webhook_url.startswith(("http://", "https://")):
                raise ValidationError("an http(s) URL", field=f"{where}.webhook_url")

    @property
    def scored_question(self) -> Question | None:
        return next((q for q in self.questions if q.scale is not None), None)

    @property
    def languages(self) -> list[str]:
        langs = {self.default_language}
        for q in self.questions:
            langs |= set(q.text)
        return sorted(langs)


def _check_question(q: Question, where: str, default: str) -> None:
    if not _ID.match(q.id):
        raise ValidationError("use 1-64 lower-case letters, digits, '_', '-' or '.'",
                              field=f"{where}.id")
    if default not in q.text:
        raise ValidationError(f"the text needs the default language {default!r}",
                              field=f"{where}.text")
    if q.type in ("single_choice", "multiple_choice"):
        if len(q.choices) < 2:
            raise ValidationError("a choice question needs at least two choices",
                                  field=f"{where}.choices")
        ids = [c.id for c in q.choices]
        if len(set(ids)) != len(ids):
            raise ValidationError("choice ids must differ", field=f"{where}.choices")
    elif q.choices:
        raise ValidationError(f"a {q.type} question has no choices", field=f"{where}.choices")
    if q.scale_max is not None and (q.type != "rating" or not 2 <= q.scale_max <= 10):
        raise ValidationError("only a rating question has scale_max, from 2 to 10",
                              field=f"{where}.scale_max")
    scale = q.scale
    for j, f in enumerate(q.follow_up):
        if scale is None:
            raise ValidationError("only a scored question has follow-ups",
                                  field=f"{where}.follow_up")
        if not scale[0] <= f.min_score <= f.max_score <= scale[1]:
            raise ValidationError(f"a band inside the scale {scale[0]}-{scale[1]}",
                                  field=f"{where}.follow_up[{j}]")


def survey_from_dict(data: Any) -> Survey:
    """A survey from its JSON/YAML form; errors name the field."""
    return from_dict(Survey, data)


def load_survey_file(path: Path) -> Survey:
    """A survey from a YAML (or JSON) file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", field="file") from exc
    except yaml.YAMLError as exc:
        raise ValidationError(f"{path} is not valid YAML: {exc}", field="file") from exc
    return survey_from_dict(data)


TEMPLATES = Path(__file__).parent / "templates"


def template_surveys() -> list[Survey]:
    """The surveys shipped as examples (``touchpath/voice/templates``): NPS after an order and
    CSAT after a support ticket, in English, Hebrew and Arabic; the demo installs them."""
    return [load_survey_file(path) for path in sorted(TEMPLATES.glob("*.yaml"))]


def pick_language(survey: Survey, wanted: str | None) -> str:
    """The survey language for a wanted locale (``he-IL`` -> ``he``), else the default."""
    if wanted:
        code = wanted.replace("_", "-").split("-")[0].lower()
        if code in survey.languages:
            return code
    return survey.default_language


def _say(text: Text | None, language: str, default: str) -> str | None:
    if text is None:
        return None
    return text.get(language) or text.get(default) or next(iter(text.values()), "")


def localized(survey: Survey, language: str | None) -> dict[str, Any]:
    """The survey as the widget renders it, in one language, with its writing direction."""
    lang = pick_language(survey, language)
    d = survey.default_language
    questions = []
    for q in survey.questions:
        item: dict[str, Any] = {"id": q.id, "type": q.type, "text": _say(q.text, lang, d),
                                "required": q.required}
        if q.scale is not None:
            low, high = DEFAULT_SCALE_LABELS["rating" if q.type == "rating" else q.type]
            item.update(min=q.scale[0], max=q.scale[1],
                        min_label=_say(q.min_label or low, lang, d),
                        max_label=_say(q.max_label or high, lang, d),
                        follow_up=[{"min": f.min_score, "max": f.max_score,
                                    "text": _say(f.text, lang, d)} for f in q.follow_up])
        if q.choices:
            item["choices"] = [{"id": c.id, "text": _say(c.text, lang, d)} for c in q.choices]
        questions.append(item)
    labels = {k: _say(survey.labels.get(k, v), lang, d) for k, v in DEFAULT_LABELS.items()}
    return {"id": survey.id, "name": survey.name, "language": lang,
            "title": _say(survey.title, lang, d) or survey.name,
            "dir": "rtl" if lang in RTL_LANGUAGES else "ltr",
            "questions": questions, "labels": labels}
