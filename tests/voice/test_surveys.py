"""Survey definitions, answers, imports, links and cases through the Python API on a real
store (the HTTP routes are tested in tests/web/test_surveys.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpath.errors import AuthError, ValidationError
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.voice import survey as sv
from touchpath.voice.answers import Answer, check_answers
from touchpath.voice.cases import list_cases, rule_matches, update_case
from touchpath.voice.catalog import list_surveys, load_survey, save_survey, set_active
from touchpath.voice.links import make_token, read_token
from touchpath.voice.record import import_answers, record_answer

TEMPLATES = Path(sv.__file__).parent / "templates"


class NoHooks:
    """Webhooks are tested over HTTP in tests/web; here cases only need opening."""

    def send(self, case: dict[str, Any], answer: dict[str, Any]) -> None:
        return None


def support() -> sv.Survey:
    return sv.load_survey_file(TEMPLATES / "csat-support.yaml")


def test_templates_load_and_localise_in_three_languages() -> None:
    for path in TEMPLATES.glob("*.yaml"):
        survey = sv.load_survey_file(path)
        assert survey.languages == ["ar", "en", "he"]
        for lang, direction in (("en", "ltr"), ("he-IL", "rtl"), ("ar", "rtl"), ("fr", "ltr")):
            shown = sv.localized(survey, lang)
            assert shown["dir"] == direction
            assert all(q["text"] for q in shown["questions"])
        assert sv.localized(survey, "fr")["language"] == "en"  # the default language


@pytest.mark.parametrize(("change", "field"), [
    ({"id": "Bad Id"}, "id"),
    ({"questions": []}, "questions"),
    ({"questions": [{"id": "a", "type": "nps", "text": {"en": "?"}},
                    {"id": "b", "type": "csat", "text": {"en": "?"}}]}, "questions"),
    ({"questions": [{"id": "a", "type": "single_choice", "text": {"en": "?"},
                     "choices": [{"id": "x", "text": {"en": "x"}}]}]}, "questions[0].choices"),
    ({"questions": [{"id": "a", "type": "nps", "text": {"he": "?"}}]}, "questions[0].text"),
    ({"questions": [{"id": "a", "type": "smiley", "text": {"en": "?"}}]}, "questions[0].type"),
    ({"targeting": {"sample_percent": 0}}, "targeting.sample_percent"),
    ({"targeting": {"triggers": [{"stage": "nirvana"}]}}, "targeting.triggers[0].stage"),
    ({"cases": [{"name": "x"}]}, "cases[0]"),
    ({"stage_model": "nope"}, "stage_model"),
    ({"colour": "red"}, "colour"),
])
def test_bad_definitions_name_the_field(change: dict[str, Any], field: str) -> None:
    data = {"id": "s", "name": "S", "questions": [
        {"id": "q", "type": "nps", "text": {"en": "How likely?"}}], **change}
    with pytest.raises(ValidationError) as caught:
        sv.survey_from_dict(data)
    assert caught.value.field == field


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["nps", "csat", "ces"]), value=st.integers(-3, 13))
def test_a_score_is_accepted_exactly_inside_its_scale(kind: str, value: int) -> None:
    survey = sv.survey_from_dict({"id": "s", "name": "S", "questions": [
        {"id": "q", "type": kind, "text": {"en": "?"}}]})
    low, high = sv.SCORED[kind]
    if low <= value <= high:
        assert check_answers(survey, {"q": value}) == {"q": value}
    else:
        with pytest.raises(ValidationError, match="outside the scale"):
            check_answers(survey, {"q": value})


def test_catalog_saves_lists_pauses(store: DuckDBStore) -> None:
    save_survey(store, support())
    save_survey(store, sv.load_survey_file(TEMPLATES / "nps-post-purchase.yaml"))
    assert [s.id for s in list_surveys(store)] == ["csat-support", "nps-post-purchase"]
    set_active(store, "csat-support", False)
    assert [s.id for s in list_surveys(store, active_only=True)] == ["nps-post-purchase"]
    assert load_survey(store, "csat-support").active is False
    with pytest.raises(Exception, match="no survey 'nope'"):
        load_survey(store, "nope")


def test_answer_event_stage_case_and_erasure(store: DuckDBStore) -> None:
    save_survey(store, support())
    done = record_answer(store, support(), Answer(
        answers={"csat": 1}, user_id="cust-1", comment="I want to cancel my order",
        touchpoint="Support Ticket Closed", response_id="r1"), webhooks=NoHooks())  # type: ignore[arg-type]
    # two rules: the score band and the keyword
    assert sorted(c["rule"] for c in done.cases) == ["churn-risk", "unhappy-after-support"]
    row = store.sql("SELECT event, user_id, properties->>'survey' AS kind, "
                    "properties->>'score' AS score FROM events").to_pylist()
    assert row == [{"event": "Survey Answered", "user_id": "cust-1", "kind": "csat",
                    "score": "1"}]
    cases = list_cases(store)
    assert set(cases["owner"]) == {"support-leads", "retention-team"}
    store.erase("cust-1", compact=False)
    assert list_cases(store).empty
    assert store.sql("SELECT count(*) AS n FROM events").to_pylist()[0]["n"] == 0


def test_keywords_match_in_any_language() -> None:
    rule = support().cases[1]
    assert rule_matches(rule, {"comment": "אני רוצה לבטל את ההזמנה", "answers": {}})
    assert rule_matches(rule, {"comment": "أريد إلغاء الطلب", "answers": {}})
    assert not rule_matches(rule, {"comment": "all good", "answers": {"comment": "thanks"}})


def test_case_lifecycle(store: DuckDBStore) -> None:
    save_survey(store, support())
    done = record_answer(store, support(), Answer(answers={"csat": 2}, user_id="c2"),
                         webhooks=NoHooks())  # type: ignore[arg-type]
    case_id = done.cases[0]["case_id"]
    assert update_case(store, case_id, owner="dana", status="in_progress")["owner"] == "dana"
    with pytest.raises(ValidationError, match="root cause"):
        update_case(store, case_id, status="closed")
    with pytest.raises(ValidationError):
        update_case(store, case_id, status="done")
    closed = update_case(store, case_id, status="closed", root_cause="courier lost parcel")
    assert closed["closed_at"] is not None and closed["root_cause"] == "courier lost parcel"


def test_import_keeps_the_good_rows_and_names_the_bad(store: DuckDBStore, tmp_path: Path) -> None:
    save_survey(store, support())
    path = tmp_path / "callcentre.csv"
    path.write_text(
        "user_id,email,score,comment,timestamp,language,touchpoint\n"
        "cust-7,,5,great help,2026-10-01T10:00:00Z,en,phone\n"
        ",dana@example.com,1,לא עזרו לי,2026-10-02T10:00:00Z,he,phone\n"
        "cust-8,,9,,2026-10-03T10:00:00Z,en,phone\n"
        "cust-9,,4,,not-a-date,en,phone\n"
        ",,3,,2026-10-03T10:00:00Z,en,phone\n", encoding="utf-8")
    report = import_answers(store, support(), path, webhooks=NoHooks())  # type: ignore[arg-type]
    assert report.stored == 2 and report.cases == 1
    assert [(r["line"], r["field"]) for r in report.rejected] == [
        (4, "answers.csat"), (5, "timestamp"), (6, "userId")]
    rows = store.sql("SELECT user_id, email_hash IS NOT NULL AS by_email, "
                     "properties->>'touchpoint' AS tp FROM events ORDER BY timestamp").to_pylist()
    assert rows == [{"user_id": "cust-7", "by_email": False, "tp": "phone"},
                    {"user_id": None, "by_email": True, "tp": "phone"}]
    # the same file again: nothing twice (response ids derive from who and when)
    assert import_answers(store, support(), path, webhooks=NoHooks()).stored == 0  # type: ignore[arg-type]
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,score,mood\nu,3,ok\n", encoding="utf-8")
    report = import_answers(store, support(), bad, webhooks=NoHooks())  # type: ignore[arg-type]
    assert report.rejected[0]["field"] == "mood"


def test_link_tokens_are_signed_and_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    token = make_token(b"k", "s1", user_id="u1", touchpoint="delivery", language="he")
    claims = read_token(b"k", token)
    assert (claims.survey_id, claims.user_id, claims.touchpoint, claims.language) == (
        "s1", "u1", "delivery", "he")
    with pytest.raises(AuthError, match="not valid"):
        read_token(b"other-secret", token)
    payload, _, sig = token.partition(".")
    with pytest.raises(AuthError):
        read_token(b"k", payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + sig)
    with pytest.raises(ValidationError):
        make_token(b"k", "s1")
    expired = make_token(b"k", "s1", user_id="u1", valid_days=1)
    later = time.time() + 2 * 86_400
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(AuthError, match="expired"):
        read_token(b"k", expired)


def test_past_answers_get_their_cases_once(demo_store_path: Path, tmp_path: Path) -> None:
    import shutil

    from touchpath.config import load_settings
    from touchpath.voice.cases import open_past_cases

    copy = tmp_path / "demo.duckdb"
    shutil.copy(demo_store_path, copy)
    with DuckDBStore(load_settings(env={}, store_path=copy)) as store:
        nps = sv.load_survey_file(TEMPLATES / "nps-post-purchase.yaml")
        save_survey(store, nps)
        detractors = store.sql(
            "SELECT count(*) AS n FROM events WHERE event = 'Survey Answered' AND "
            "properties->>'survey_id' = 'nps-post-purchase' AND "
            "CAST(properties->>'score' AS INT) <= 6").to_pylist()[0]["n"]
        assert detractors > 20
        assert open_past_cases(store, nps) == detractors
        assert open_past_cases(store, nps) == 0
        cases = list_cases(store)
        assert len(cases) == detractors and (cases["score"] <= 6).all()
        # the demo's answers carry no response id: recovery still finds a later answer
        person, user = _with_user_id(store, list(cases["person_id"]))
        record_answer(store, nps, Answer(answers={"nps": 10}, user_id=user),
                      webhooks=NoHooks())  # type: ignore[arg-type]
        from touchpath.voice.cases import recovery

        row = recovery(store).set_index("person_id").loc[person]
        assert row["next_score"] == 10 and row["recovered"] is True


def _with_user_id(store: DuckDBStore, persons: list[str]) -> tuple[str, str]:
    """The first of ``persons`` with a user id, and that id."""
    rows = store.sql("SELECT person_id, min(user_id) AS u FROM events WHERE user_id IS NOT NULL "
                     "AND person_id IN (SELECT unnest($p)) GROUP BY 1 ORDER BY 1 LIMIT 1",
                     {"p": persons}).to_pylist()
    assert rows, "a demo detractor with a user id"
    return str(rows[0]["person_id"]), str(rows[0]["u"])
