"""Stage models: the YAML templates, the JSON round trip and errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from touchpath.analytics.codec import from_dict, to_dict
from touchpath.errors import ValidationError
from touchpath.journey.stages import (
    LANGUAGES,
    StageModel,
    load_stages,
    stage_model_from_dict,
    templates,
)

GLOSSARY = {  # /work/shared/GLOSSARY.md, the first word of each cell
    "Awareness": ("מודעות", "الوعي"),
    "Consideration": ("שקילה", "الاعتبار"),
    "Decision": ("החלטה", "القرار"),
    "Purchase": ("רכישה", "الشراء"),
    "Onboarding": ("קליטה", "التهيئة"),
    "Engagement": ("מעורבות", "التفاعل"),
    "Retention": ("שימור", "الاحتفاظ"),
    "Loyalty": ("נאמנות", "الولاء"),
    "Advocacy": ("סנגור", "المناصرة"),
}


@pytest.mark.parametrize(("template", "names"), [
    ("default", ["Awareness", "Consideration", "Purchase", "Retention", "Advocacy"]),
    ("buyer", ["Awareness", "Consideration", "Decision"]),
    ("post_purchase", ["Onboarding", "Engagement", "Retention", "Loyalty", "Advocacy"]),
])
def test_templates_name_their_stages_in_three_languages(template: str, names: list[str]) -> None:
    model = load_stages(template)
    assert [s.name("en") for s in model.stages] == names
    for stage in model.stages:
        assert set(stage.names) == set(LANGUAGES)
        assert (stage.name("he"), stage.name("ar")) == GLOSSARY[stage.name("en")]
        assert stage.id == stage.name("en").lower()


def test_every_template_survives_the_json_round_trip() -> None:
    assert set(templates()) == {"default", "buyer", "post_purchase"}
    for name in templates():
        model = load_stages(name)
        data = json.loads(json.dumps(to_dict(model)))
        assert from_dict(StageModel, data) == model
        assert hash(from_dict(StageModel, data)) == hash(model)  # specs may be cache keys


def test_a_model_file_loads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "stages": [
        {"id": "trial", "names": {"en": "Trial"}, "rules": [{"event": "Signed Up"}]},
        {"id": "paid", "names": {"en": "Paid", "he": "משלם"},
         "rules": [{"event": "Order Completed", "channels": ["store"]}]},
    ]}, allow_unicode=True), encoding="utf-8")
    model = load_stages(path)
    assert model.ids == ("trial", "paid")
    assert model.stages[1].name("he") == "משלם"
    assert model.stages[0].name("ar") == "Trial"  # falls back to English
    assert model.stages[1].rules[0].channels == ("store",)


def _model(**stage_changes: Any) -> dict[str, Any]:
    stages = [
        {"id": "a", "names": {"en": "A"}, "rules": [{"event": "A"}]},
        {"id": "b", "names": {"en": "B"}, "rules": [{"event": "B"}]},
        {"id": "c", "names": {"en": "C"}, "rules": [{"event": ["C", "D"]}]},
    ]
    stages[2].update(stage_changes)
    return {"name": "test", "stages": stages}


@pytest.mark.parametrize(("data", "field", "words"), [
    (_model(rules=[{"event": ""}]), "stages[2].rules[0].event", "needs an event name"),
    (_model(rules=[{"event": 3}]), "stages[2].rules[0].event", "expected"),
    (_model(rules=[{"event": "C", "where": [{"property": "plan", "value": 1}]}]),
     "stages[2].rules[0].where[0].property", "properties.<key>"),
    (_model(rules=[{"event": "C", "where": [{"property": "revenue", "op": "gt",
                                              "value": "x"}]}]),
     "stages[2].rules[0].where[0].value", "needs a number"),
    (_model(rules=[{"channels": ["tv"]}]), "stages[2].rules[0].channels[0]", "unknown channel"),
    (_model(rules=[{"after": {"event": "A"}, "after_count": 0}]), "stages[2].rules[0].after_count",
     "at least 1"),
    (_model(rules=[{"after_count": 2}]), "stages[2].rules[0].after_count", "needs after"),
    (_model(rules=[{"not_after": {"event": ["*", "A"]}}]), "stages[2].rules[0].not_after.event",
     "'*'"),
    (_model(rules=[{"colour": "red"}]), "stages[2].rules[0].colour", "unknown field"),
    (_model(rules=[]), "stages[2].rules", "at least one entry rule"),
    (_model(id="a"), "stages[2].id", "used twice"),
    (_model(id="Big Stage"), "stages[2].id", "not a stage id"),
    (_model(names={"he": "ג"}), "stages[2].names.en", "English"),
    ({"name": "x", "stages": []}, "stages", "at least one stage"),
    ({"stages": []}, "name", "is required"),
])
def test_bad_models_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        stage_model_from_dict(data)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_bad_yaml_files_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nstages:\n  - id: a\n    names: {en: A}\n    rules:\n"
                    "      - event: A\n        where: [{property: revenue, op: between}]\n",
                    encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_stages(path)
    assert caught.value.field == "stages[0].rules[0].where[0].op"
    with pytest.raises(ValidationError, match="templates: buyer, default, post_purchase"):
        load_stages("nonesuch")
    (tmp_path / "broken.yaml").write_text("stages: [", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid YAML"):
        load_stages(tmp_path / "broken.yaml")
