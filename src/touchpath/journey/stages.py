"""Journey stages: an ordered list of stages, each entered by the events its rules match.

A stage model is written in YAML (templates under ``journey/templates/``) and is also a spec
part: :class:`StageModel` is a frozen dataclass that the codec turns to and from JSON, so a
stages analysis can carry a model inline.

>>> model = load_stages("default")
>>> [s.id for s in model.stages]
['awareness', 'consideration', 'purchase', 'retention', 'advocacy']
>>> model.stages[2].name("he")
'רכישה'

The rules (see ``docs/stages.md``): an event enters the stage of a rule it matches; when it
matches rules of several stages, the stage that comes **latest in the model's order** wins.
Events that match no rule leave the person's stage as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from touchpath.analytics.codec import from_dict
from touchpath.analytics.filters import (
    EventMatcher,
    PropertyFilter,
    check_channels,
    check_event_filters,
)
from touchpath.errors import ValidationError

LANGUAGES = ("en", "he", "ar")
"""The languages every template names its stages in (``/work/shared/GLOSSARY.md``)."""

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class StageRule:
    """Which events enter a stage: all the given conditions must hold.

    ``event``: one name, a list (any of them), or ``"*"`` (any event). ``where``: property
    conditions on the event. ``channels``: the event's channel is one of these. ``after``: the
    person did an event matching this strictly earlier (in the order of events). ``not_after``:
    the person did no such event earlier (``not_after: {event: "*"}`` is the first touch).
    """

    event: str | tuple[str, ...] = "*"
    where: tuple[PropertyFilter, ...] = ()
    channels: tuple[str, ...] = ()
    after: EventMatcher | None = None
    after_count: int = 1
    not_after: EventMatcher | None = None

    def __post_init__(self) -> None:
        EventMatcher(self.event)  # the same checks on names as a funnel step
        if self.after_count < 1:
            raise ValidationError("must be at least 1", field="after_count")
        if self.after_count != 1 and self.after is None:
            raise ValidationError("after_count needs after", field="after_count")
        check_event_filters(self.where)
        check_channels(self.channels)

    @property
    def matcher(self) -> EventMatcher:
        """The event names and property conditions as an :class:`EventMatcher`."""
        return EventMatcher(self.event, self.where)


@dataclass(frozen=True)
class Stage:
    """One stage: a stable ``id`` (lower case, digits, ``_``), its name per language (``en``
    required) and the rules by which a person enters it."""

    id: str
    names: dict[str, str]
    rules: tuple[StageRule, ...]
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise ValidationError(
                f"not a stage id: {self.id!r} (lower-case letters, digits and _)", field="id")
        if not self.names.get("en"):
            raise ValidationError("needs at least an English name (en)", field="names.en")
        for language, text in self.names.items():
            if not text.strip():
                raise ValidationError("must not be empty", field=f"names.{language}")
        if not self.rules:
            raise ValidationError("needs at least one entry rule", field="rules")

    def __hash__(self) -> int:  # names is a dict: specs holding a model stay hashable
        return hash((self.id, tuple(sorted(self.names.items())), self.rules, self.description))

    def name(self, language: str = "en") -> str:
        """The stage's name in ``language``, falling back to English."""
        return self.names.get(language) or self.names["en"]


@dataclass(frozen=True)
class StageModel:
    """An ordered list of stages (earliest first), with a name."""

    name: str
    stages: tuple[Stage, ...]
    description: str | None = None

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValidationError("needs at least one stage", field="stages")
        seen: set[str] = set()
        for i, stage in enumerate(self.stages):
            if stage.id in seen:
                raise ValidationError(f"stage id {stage.id!r} is used twice",
                                      field=f"stages[{i}].id")
            seen.add(stage.id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.stages)

    def index(self, stage_id: str) -> int:
        return self.ids.index(stage_id)


def templates() -> tuple[str, ...]:
    """The names of the built-in templates."""
    folder = resources.files("touchpath.journey") / "templates"
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                        if p.name.endswith(".yaml")))


def check_template(model: object, field: str = "model",
                   hint: str = " (or give the model inline)") -> None:
    """Refuse, naming ``field``, a model given by the name of a template that does not exist
    (a model given inline, or None, passes)."""
    if isinstance(model, str) and model not in templates():
        raise ValidationError(f"no stage template {model!r}; templates: "
                              f"{', '.join(templates())}{hint}", field=field)


def model_of(model: StageModel | str) -> StageModel:
    """A model given inline, or the template of that name."""
    return load_stages(model) if isinstance(model, str) else model


def load_stages(path_or_template: str | Path) -> StageModel:
    """A stage model from a YAML file, or a built-in template by name (``default``,
    ``buyer``, ``post_purchase``). Errors name the field: ``stages[2].rules[0].event``."""
    text = _read(path_or_template)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"not valid YAML: {exc}", field=None) from exc
    return stage_model_from_dict(data)


def stage_model_from_dict(data: Any) -> StageModel:
    """A stage model from its dict form (YAML or JSON); errors name the field."""
    if not isinstance(data, dict):
        raise ValidationError("a stage model is a mapping with name and stages", field=None)
    return from_dict(StageModel, data)


def _read(path_or_template: str | Path) -> str:
    name = str(path_or_template)
    if isinstance(path_or_template, str) and name in templates():
        folder = resources.files("touchpath.journey") / "templates"
        return (folder / f"{name}.yaml").read_text(encoding="utf-8")
    path = Path(path_or_template)
    if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
        raise ValidationError(
            f"no stage model file {name!r} and no template of that name; templates: "
            f"{', '.join(templates())}", field="model")
    return path.read_text(encoding="utf-8")
