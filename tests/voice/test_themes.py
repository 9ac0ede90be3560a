"""Free text: normalisation, c-TF-IDF, clustering, the lexicon scorer (and a plugged one), the
themes analysis against a plain count, and the demo's planted comment themes in he/ar/en."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.strategies import source_of
from touchpath.analytics import from_dict, to_dict
from touchpath.analytics.registry import run_json
from touchpath.demo import _texts as tx
from touchpath.errors import ValidationError
from touchpath.voice.metrics import band
from touchpath.voice.sentiment import (
    SCORERS,
    LexiconScorer,
    SentimentScorer,
    get_scorer,
    normalize,
    register_scorer,
    script_language,
    words,
)
from touchpath.voice.themes import ThemesSpec, class_terms, cluster, run_themes, terms

LANGUAGES = ("he", "ar", "en")  # the order of the banks in touchpath.demo._texts
NEGATIVE_THEMES = (tx.NEGATIVE, tx.DELIVERY, tx.SUPPORT, tx.DAMAGED, tx.PAYMENT)
T = datetime(2026, 3, 1, 10, 0)


def test_normalize_and_words() -> None:
    assert normalize("שָׁלוֹם") == "שלום"  # niqqud
    assert normalize("مُمْتَازٌ") == "ممتاز"  # harakat
    assert normalize("أجمل إلى آخر") == "اجمل الي اخر"  # alef and ya variants
    assert normalize("مـــمتاز") == "ممتاز"  # tatweel
    assert normalize("Café CRÈME") == "cafe creme"
    assert words("I'd buy it again, 10/10 — 5 stars!") == ["buy", "it", "again", "stars"]
    assert words("המשלוח הגיע.") == ["המשלוח", "הגיע"]
    assert script_language("وصلت المزهرية") == "ar"
    assert script_language("האגרטל הגיע") == "he"
    assert script_language("The vase") == "en"


def test_terms_leave_out_stop_words_and_add_pairs() -> None:
    assert terms("The vase arrived broken.", "en") == [
        "vase", "arrived", "broken", "vase arrived", "arrived broken"]
    assert terms("Not a pleasant experience", "en") == [
        "pleasant", "experience", "not pleasant", "pleasant experience"]


def test_class_terms_by_hand() -> None:
    # class a: x x y (3 terms), class b: y z (2 terms); A = 5 / 2 = 2.5; f(x) = 2, f(y) = 2,
    # f(z) = 1. a: x = 2/3 * ln(1 + 2.5/2) = 0.5406, y = 1/3 * ln(2.25) = 0.2703;
    # b: z = 1/2 * ln(3.5) = 0.6264, y = 1/2 * ln(2.25) = 0.4055
    found = class_terms([["x", "x", "y"], ["y", "z"]], ["a", "b"], top=2)
    assert [(t, round(w, 4), c) for t, w, c in found["a"]] == [
        ("x", round(2 / 3 * math.log(2.25), 4), 2), ("y", round(1 / 3 * math.log(2.25), 4), 1)]
    assert [t for t, _, _ in found["b"]] == ["z", "y"]
    assert found["b"][0][1] == pytest.approx(0.5 * math.log(3.5))


def test_cluster_groups_near_duplicates_in_any_script() -> None:
    texts = ["The delivery was late", "the delivery was very late!", "Delivery late again",
             "המשלוח הגיע באיחור", "משלוח הגיע באיחור גדול",
             "وصل التوصيل متأخرًا", "التوصيل متأخر",
             "Lovely staff in the store", "lovely staff at the store"]
    labels = cluster(texts, [None] * len(texts), threshold=0.8)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] and labels[5] == labels[6] and labels[7] == labels[8]
    assert len({labels[0], labels[3], labels[5], labels[7]}) == 4
    assert cluster([], [], 0.8) == []
    assert cluster(["one"], [None], 0.8) == [0]
    # past max_texts the rest join their most similar clustered text's cluster
    capped = cluster(texts, [None] * len(texts), threshold=0.8, max_texts=4)
    assert capped[7] == capped[8] and capped[1] == capped[0]


def test_lexicon_scorer_on_sentences_not_from_the_demo() -> None:
    score = LexiconScorer().score_one
    assert score("I love it, excellent service") > 0.3
    assert score("The service was terrible") < 0
    assert score("not good") < 0 < score("not bad")
    assert score("It wasn't helpful at all") < 0
    assert score("polite but the package was broken") < 0  # "but": what follows weighs more
    assert score("השירות היה גרוע") < 0 < score("המוכרת הייתה נהדרת")
    assert score("לא טוב") < 0 < score("לא רע")
    assert score("الخدمة سيئة") < 0 < score("المنتج رائع وجميل")
    assert score("ليس جيدا") < 0 < score("ليس سيئا")
    assert score("") == 0.0
    assert score("Ceci est un texte", "fr") == 0.0  # a language the lexicon lacks
    assert -1 < score("excellent " * 50) < 1


def test_sentiment_separates_the_planted_comments_in_each_language() -> None:
    scorer = LexiconScorer()
    for index, language in enumerate(LANGUAGES):
        positive = list(tx.COMMENTS[tx.POSITIVE][index])
        negative = [c for t in NEGATIVE_THEMES for c in tx.COMMENTS[t][index]]
        up = scorer.score(positive, [language] * len(positive))
        down = scorer.score(negative, [language] * len(negative))
        assert all(s > 0 for s in up), (language, up)
        assert all(s <= 0 for s in down), (language, down)
        assert sum(s < 0 for s in down) >= 0.8 * len(down)
        assert max(down) < min(up)


class Constant:
    """A plugged scorer: every text scores the same."""

    def score(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[float]:
        return [0.25 for _ in texts]


def _answer(i: int, person: str, survey: str, score: Any, comment: str | None,
            **props: Any) -> dict[str, Any]:
    properties = {"survey": survey, "survey_id": f"{survey}-1", "score": score, **props}
    if comment is not None:
        properties["comment"] = comment
    return {"message_id": f"m{i:03d}", "person_id": person, "event": "Survey Answered",
            "timestamp": T + timedelta(hours=i), "properties": properties}


def test_a_registered_scorer_is_used_and_an_unknown_one_named() -> None:
    register_scorer("constant", Constant)
    try:
        assert isinstance(get_scorer("constant"), SentimentScorer)
        rows = [_answer(1, "p1", "nps", 2, "The vase arrived broken."),
                _answer(2, "p2", "nps", 10, "Lovely staff")]
        result = run_themes(source_of(rows), ThemesSpec(scorer="constant"))
        assert set(result.frame["mean_sentiment"]) == {0.25}
    finally:
        del SCORERS["constant"]
    with pytest.raises(ValidationError) as caught:
        ThemesSpec(scorer="constant")
    assert caught.value.field == "scorer"


BANK = ("The vase arrived broken.", "Fast delivery, well packed.", "השירות היה גרוע",
        "توصيل سريع", "I waited days for an answer.", "Nice but pricey.")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(("p1", "p2", "p3")), st.sampled_from(("nps", "csat")),
                          st.integers(0, 10), st.sampled_from((None, "", *BANK)),
                          st.sampled_from(("Loyalty", "Retention", None))), max_size=25),
       st.sampled_from([("band",), ("stage",), ("band", "stage"), ()]))
def test_theme_counts_match_a_plain_count(answers: list[tuple[Any, ...]],
                                          by: tuple[Any, ...]) -> None:
    rows = []
    for i, (person, survey, score, comment, stage) in enumerate(answers):
        extra = {"stage": stage} if stage else {}
        rows.append(_answer(i, person, survey, score, comment, **extra))
    source = source_of(rows)
    result = run_themes(source, ThemesSpec(by=by))
    want: Counter[tuple[Any, ...]] = Counter()
    for event in common.load(source):
        props = event["properties"]
        if not props.get("comment"):
            continue
        scale = (0, 10) if props["survey"] == "nps" else (1, 5)
        in_scale = scale[0] <= props["score"] <= scale[1]
        values = {"band": band(props["survey"], props["score"], *scale) if in_scale
                  else "(none)", "stage": props.get("stage") or "(none)"}
        want[tuple(values[b] for b in by)] += 1
    have: Counter[tuple[Any, ...]] = Counter()
    for row in result.frame.to_dict(orient="records"):
        have[tuple(row[b] for b in by)] += row["answers"]
    assert have == want
    assert result.summary["comments"] == sum(want.values())
    for row in result.frame.to_dict(orient="records"):
        assert all(e in BANK for e in row["examples"].split(" | ") if row["examples"])
    comments = result.tables["comments"]
    assert len(comments) == sum(want.values())
    assert "comments" not in result.to_dict()["tables"]


def test_no_comments_is_an_empty_result_and_bad_specs_name_the_field() -> None:
    rows = [_answer(1, "p1", "nps", 9, None)]
    result = run_themes(source_of(rows), ThemesSpec())
    assert result.frame.empty and result.summary["comments"] == 0
    assert run_themes(source_of(rows), ThemesSpec(survey_ids=("none",))).frame.empty
    result.figure()
    cases = [({"by": ["mood"]}, "by[0]"), ({"by": ["band", "band"]}, "by"),
             ({"threshold": 0}, "threshold"), ({"terms": 0}, "terms"),
             ({"examples": -1}, "examples"), ({"max_comments": 0}, "max_comments"),
             ({"scorer": "gpt"}, "scorer"), ({"surveys": ["poll"]}, "surveys[0]")]
    for data, field in cases:
        with pytest.raises(ValidationError) as caught:
            run_json(source_of([]), "themes", data)
        assert caught.value.field == field, (data, caught.value)
    spec = ThemesSpec(surveys=("nps", "csat"), by=("band", "stage"), threshold=0.5)
    assert from_dict(ThemesSpec, to_dict(spec)) == spec


# --- the demo's planted comments (touchpath/demo/_texts.py, _after.py) ----------------------

def _planted() -> dict[str, tuple[int, str]]:
    """Each planted comment -> (its theme, its language)."""
    return {comment: (theme, LANGUAGES[index])
            for theme, banks in enumerate(tx.COMMENTS)
            for index, bank in enumerate(banks) for comment in bank}


def test_demo_themes_recover_the_planted_themes(demo_store: Any) -> None:
    result = run_themes(demo_store, ThemesSpec(by=("band",)))
    comments = result.tables["comments"]
    planted = _planted()
    assert set(comments["comment"]) <= set(planted)
    assert set(comments["language"]) == set(LANGUAGES)
    truth = [planted[c][0] for c in comments["comment"]]
    # purity: a theme holds comments of one planted theme (and of one language)
    pure = 0
    for _, own in comments.assign(truth=truth).groupby("theme"):
        pure += own["truth"].value_counts().iloc[0]
        assert own["language"].nunique() == 1
    assert pure >= 0.9 * len(comments)
    # a planted theme is not scattered either: its comments fall in few themes per language
    for (theme, language), own in comments.assign(truth=truth).groupby(["truth", "language"]):
        bank = tx.COMMENTS[theme][LANGUAGES.index(language)]
        assert own["theme"].nunique() <= len(bank) + 1
    # the unhappy band talks about the negative themes, the happy one about the positive one,
    # in every language: its top terms come from those comments' words
    terms_of = result.tables["terms"]
    for index, language in enumerate(LANGUAGES):
        positive = {t for c in tx.COMMENTS[tx.POSITIVE][index] for t in terms(c, language)}
        negative = {t for th in NEGATIVE_THEMES for c in tx.COMMENTS[th][index]
                    for t in terms(c, language)}
        low = terms_of[(terms_of["band"] == "low") & (terms_of["language"] == language)]
        high = terms_of[(terms_of["band"] == "high") & (terms_of["language"] == language)]
        assert len(low) and len(high)
        assert all(t in negative for t in low["term"]), (language, list(low["term"]))
        assert all(t in positive for t in high["term"]), (language, list(high["term"]))
    means = result.summary["mean_sentiment_by_band"]
    assert means["low"] < means["mid"] < means["high"] and means["low"] < 0 < means["high"]


def test_demo_support_comments_are_in_the_retention_stage(demo_store: Any) -> None:
    result = run_themes(demo_store, ThemesSpec(by=("stage",), surveys=("csat", "ces")))
    comments = result.tables["comments"]
    planted = _planted()
    support = comments[[planted[c][0] == tx.SUPPORT for c in comments["comment"]]]
    assert len(support) > 0 and set(support["stage"]) == {"Retention"}
    retention = result.frame[result.frame["stage"] == "Retention"]
    purchase = result.frame[result.frame["stage"] == "Purchase"]
    mean = (retention["mean_sentiment"] * retention["answers"]).sum() / retention["answers"].sum()
    happy = (purchase["mean_sentiment"] * purchase["answers"]).sum() / purchase["answers"].sum()
    assert mean < 0 < happy
