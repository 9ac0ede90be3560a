"""Themes of survey comments per score band and stage, with their sentiment (the "themes"
analysis), offline and language-agnostic:

- **Themes**: comments are clustered by average-linkage agglomerative clustering on the cosine
  distance of TF-IDF vectors of their words *and* of the character 3-grams of each word (so
  ``המשלוח``/``משלוח`` and ``التوصيل``/``توصيل`` share most features without any
  language-specific stemming), cut at ``threshold``. A theme is labelled by its top terms (words
  and word pairs) by class-based TF-IDF (c-TF-IDF, Grootendorst 2022, BERTopic).
- **Terms per group**: the c-TF-IDF top words and word pairs of each band/stage (per language).
- **Sentiment** of each comment: :mod:`touchpath.voice.sentiment`.
"""


from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from touchpath.analytics.filters import Filters
from touchpath.analytics.frame import json_text
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.errors import ValidationError
from touchpath.voice.metrics import SurveyType, band
from touchpath.voice.satisfaction import NONE, answers
from touchpath.voice.sentiment import (
    SCORERS,
    get_scorer,
    language_of,
    lexicons,
    words,
)

# --- terms and themes ----------------------------------------------------------------------

def terms(text: str, language: str | None = None) -> list[str]:
    """Words (stop words and lone negators left out) and pairs of neighbouring words: what
    labels are made of."""
    lexicon = lexicons().get(language_of(text, language))
    stop = lexicon.stop_words if lexicon else frozenset()
    negators = lexicon.negators if lexicon else frozenset()
    kept = [w for w in words(text) if w not in stop]
    # a negator alone says nothing; in a pair ("not pleasant") it does
    return [w for w in kept if w not in negators] + [
        f"{a} {b}" for a, b in pairwise(kept)]


def _features(text: str, language: str | None) -> Counter[str]:
    lexicon = lexicons().get(language_of(text, language))
    stop = lexicon.stop_words if lexicon else frozenset()
    kept = [w for w in words(text) if w not in stop]
    found: Counter[str] = Counter(kept)
    for word in kept:
        padded = f"<{word}>"
        found.update("#" + padded[i:i + 3] for i in range(len(padded) - 2))
    return found


def tf_idf(documents: Sequence[Counter[str]]) -> sparse.csr_matrix:
    """Rows of L2-normalised TF-IDF (smooth idf: ``log((1 + n) / (1 + df)) + 1``)."""
    vocabulary: dict[str, int] = {}
    rows, columns, values = [], [], []
    for i, document in enumerate(documents):
        for term, count in document.items():
            rows.append(i)
            columns.append(vocabulary.setdefault(term, len(vocabulary)))
            values.append(float(count))
    matrix = sparse.csr_matrix((values, (rows, columns)),
                               shape=(len(documents), len(vocabulary)))
    df = np.bincount(columns, minlength=len(vocabulary)) if columns else np.zeros(0)
    idf = np.log((1 + len(documents)) / (1 + df)) + 1
    matrix = matrix @ sparse.diags(idf)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return sparse.csr_matrix(sparse.diags(1 / norms) @ matrix)


def cluster(texts: Sequence[str], languages: Sequence[str | None], threshold: float,
            max_texts: int = 2000) -> list[int]:
    """A cluster number (from 0) for each text: average linkage on cosine distance of word and
    character 3-gram TF-IDF, cut at ``threshold``. Past ``max_texts`` distinct texts the rest
    join the cluster of their most similar clustered text."""
    if not texts:
        return []
    keys = [" ".join(words(t)) for t in texts]
    counts = Counter(keys)
    distinct = sorted(counts, key=lambda k: (-counts[k], k))
    first_of: dict[str, int] = {}
    for i, key in enumerate(keys):
        first_of.setdefault(key, i)
    features = [_features(texts[first_of[k]], languages[first_of[k]]) for k in distinct]
    matrix = tf_idf(features)
    core = min(len(distinct), max_texts)
    if core == 1:
        labels = np.zeros(1, dtype=np.int64)
    else:
        similarity = (matrix[:core] @ matrix[:core].T).toarray()
        distance = np.clip(1 - similarity, 0, None)
        np.fill_diagonal(distance, 0)
        tree = linkage(squareform(distance, checks=False), method="average")
        labels = fcluster(tree, t=threshold, criterion="distance").astype(np.int64) - 1
    if len(distinct) > core:
        nearest = np.asarray((matrix[core:] @ matrix[:core].T).argmax(axis=1)).ravel()
        labels = np.concatenate([labels, labels[nearest]])
    by_key = dict(zip(distinct, labels.tolist(), strict=True))
    return [int(by_key[k]) for k in keys]


def class_terms(documents: Sequence[Sequence[str]], classes: Sequence[Any], top: int
                ) -> dict[Any, list[tuple[str, float, int]]]:
    """c-TF-IDF (Grootendorst 2022): for each class, its ``top`` terms by
    ``tf(t, c) / |c| * log(1 + A / f(t))`` (``A``: mean number of terms per class, ``f(t)``:
    the term's count over all classes), with the count of the term in the class."""
    per_class: dict[Any, Counter[str]] = {}
    for document, label in zip(documents, classes, strict=True):
        per_class.setdefault(label, Counter()).update(document)
    overall: Counter[str] = Counter()
    for counts in per_class.values():
        overall.update(counts)
    if not per_class:
        return {}
    average = sum(overall.values()) / len(per_class)
    found = {}
    for label, counts in per_class.items():
        size = sum(counts.values()) or 1
        weights = [(t, c / size * math.log(1 + average / overall[t]), c)
                   for t, c in counts.items()]
        weights.sort(key=lambda x: (-x[1], -x[2], x[0]))
        found[label] = weights[:top]
    return found


# --- the analysis ----------------------------------------------------------------------

GroupBy = Literal["band", "stage", "touchpoint", "language", "survey"]
THEME_COLUMNS = ["theme", "label", "answers", "share", "mean_sentiment", "examples"]


@dataclass(frozen=True)
class ThemesSpec:
    """Themes of the comments of survey answers, per group.

    ``surveys``: survey types (``nps``, ``csat``, ``ces``, ``rating``; empty: all);
    ``survey_ids``: only these surveys; ``by``: the groups (``band`` of the score: low / mid /
    high, see ``docs/voice-metrics.md``; ``stage``; ``touchpoint``; ``language``; ``survey``
    id); ``threshold``: the cosine distance (0-1) at which clusters stop merging (lower: more,
    tighter themes); ``terms``: top terms per group and language; ``examples``: example
    comments per theme; ``scorer``: the registered sentiment scorer; ``max_comments``: the
    most recent comments read.
    """

    surveys: tuple[SurveyType, ...] = ()
    survey_ids: tuple[str, ...] = ()
    by: tuple[GroupBy, ...] = ("band",)
    threshold: float = 0.8
    terms: int = 8
    examples: int = 3
    scorer: str = "lexicon"
    max_comments: int = 20_000
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        if len(set(self.by)) != len(self.by):
            raise ValidationError("lists a group twice", field="by")
        if not 0 < self.threshold <= 1:
            raise ValidationError("must be above 0 and at most 1", field="threshold")
        if self.terms < 1:
            raise ValidationError("must be at least 1", field="terms")
        if self.examples < 0:
            raise ValidationError("cannot be negative", field="examples")
        if not 1 <= self.max_comments <= 200_000:
            raise ValidationError("must be from 1 to 200000", field="max_comments")
        if self.scorer not in SCORERS:
            raise ValidationError(f"no sentiment scorer {self.scorer!r}; scorers: "
                                  f"{', '.join(sorted(SCORERS))}", field="scorer")


@dataclass(frozen=True)
class ThemesResult(AnalysisResult):
    """``frame``: one row per group and theme (the ``by`` columns, ``theme`` number,
    ``label`` (top terms), ``answers``, ``share`` of the group's comments (percent),
    ``mean_sentiment``, ``examples`` joined by `` | ``). ``tables["terms"]``: the top terms
    of each group per language (``term``, ``weight``, ``count``); ``tables["themes"]``: each
    theme overall; ``tables["comments"]`` (a person table): every comment with its band,
    stage, language, theme and sentiment."""

    kind: ClassVar[str] = "themes"
    person_tables: ClassVar[tuple[str, ...]] = ("comments",)

    def figure(self) -> Any:
        import plotly.express as px

        frame = self.frame
        if frame.empty:
            return px.bar()
        group = " / ".join(self.spec.by) if self.spec.by else None
        names = (frame[list(self.spec.by)].astype(str).agg(" / ".join, axis=1)
                 if self.spec.by else "all")
        shown = frame.assign(group=names)
        return px.bar(shown, x="answers", y="label", color="group", orientation="h",
                      hover_data=["mean_sentiment"], title=f"themes by {group or 'all'}")


def _comments(source: EventSource, spec: ThemesSpec) -> pd.DataFrame:
    rows = answers(source, spec.filters, spec.surveys, spec.survey_ids)
    comment = json_text(rows, "properties", "comment")
    rows = rows.mutate(comment=comment).filter(comment.notnull() & (comment.strip() != ""))
    picked = rows.order_by([rows.timestamp.desc(), rows.message_id.desc()]).limit(
        spec.max_comments)
    return picked.select(
        "person_id", "message_id", "timestamp", survey="_survey", survey_id="_survey_id",
        score="_score", scale_min="_scale_min", scale_max="_scale_max",
        stage=json_text(picked, "properties", "stage"),
        touchpoint=json_text(picked, "properties", "touchpoint"),
        language=json_text(picked, "properties", "language"), comment="comment",
    ).to_pandas()


def _band(row: dict[str, Any]) -> str:
    score, low, high = row["score"], row["scale_min"], row["scale_max"]
    if any(v is None or pd.isna(v) for v in (score, low, high)) or not low <= score <= high:
        return NONE
    return band(str(row["survey"]), float(score), float(low), float(high))


def _group_columns(data: pd.DataFrame) -> pd.DataFrame:
    data["band"] = [_band(r) for r in data.to_dict(orient="records")]
    data["survey"] = data["survey_id"]
    for column in ("stage", "touchpoint", "survey"):
        data[column] = data[column].fillna(NONE)
    return data


@register("themes", ThemesSpec, "Themes of survey comments (any language, offline) per score "
          "band and stage: clusters labelled by their top terms, counts, examples and mean "
          "sentiment.")
def run_themes(source: EventSource, spec: ThemesSpec) -> ThemesResult:
    """Run a themes analysis (see :class:`ThemesSpec`)."""
    scorer = get_scorer(spec.scorer)
    data = _comments(source, spec)
    by: list[str] = list(spec.by)
    texts = [str(t) for t in data["comment"]]
    data["language"] = [language_of(t, lang if isinstance(lang, str) else None)
                        for t, lang in zip(texts, data["language"], strict=True)]
    data = _group_columns(data)
    # each distinct (comment, language) is scored and split into terms once
    pairs = list(zip(texts, data["language"], strict=True))
    distinct = list(dict.fromkeys(pairs))
    scores = dict(zip(distinct, scorer.score([t for t, _ in distinct],
                                             [lang for _, lang in distinct]), strict=True))
    split = {pair: terms(*pair) for pair in distinct}
    data["sentiment"] = [float(scores[p]) for p in pairs]
    data["theme"] = [t + 1 for t in cluster(texts, list(data["language"]), spec.threshold)]
    data["terms"] = [split[p] for p in pairs]
    # themes numbered by size, labelled by their top terms
    sizes = data.groupby("theme").size().sort_values(ascending=False, kind="stable")
    renumber = {old: new for new, old in enumerate(sizes.index, start=1)}
    data["theme"] = data["theme"].map(renumber)
    labels = class_terms(list(data["terms"]), list(data["theme"]), 3)
    label_of = {k: ", ".join(t for t, _, _ in v) for k, v in labels.items()}
    frame = _theme_rows(data, by, label_of, spec.examples)
    overall = _theme_rows(data, [], label_of, spec.examples)
    term_rows = []
    groups = data.groupby(by, sort=True) if by else [((), data)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        for language, own in part.groupby("language", sort=True):
            # c-TF-IDF of the group against the rest of the comments in the same language
            same = data[data["language"] == language]
            inside = same.index.isin(own.index)
            ranked = class_terms(list(same["terms"]), list(inside), spec.terms)
            for term, weight, count in ranked.get(True, []):
                term_rows.append({**dict(zip(by, key, strict=True)), "language": language,
                                  "term": term, "weight": weight, "count": count})
    terms_frame = pd.DataFrame(term_rows, columns=[*by, "language", "term", "weight", "count"])
    comments = data[["person_id", "message_id", "timestamp", "survey_id", "score", "band",
                     "stage", "touchpoint", "language", "theme", "sentiment", "comment"]]
    by_band = data.groupby("band")["sentiment"].mean().to_dict() if len(data) else {}
    summary = {
        "comments": len(data), "themes": int(data["theme"].nunique()) if len(data) else 0,
        "languages": sorted(set(data["language"])), "scorer": spec.scorer,
        "mean_sentiment": float(data["sentiment"].mean()) if len(data) else None,
        "mean_sentiment_by_band": {str(k): float(v) for k, v in by_band.items()},
        "method": "average-linkage clustering of word + character 3-gram TF-IDF (cosine), "
                  "labels by c-TF-IDF",
    }
    return ThemesResult(spec, frame, summary, {"terms": terms_frame, "themes": overall,
                                               "comments": comments.reset_index(drop=True)})


def _theme_rows(data: pd.DataFrame, by: list[str], label_of: dict[Any, str], examples: int
                ) -> pd.DataFrame:
    rows = []
    groups = data.groupby(by, sort=True) if by else [((), data)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        total = len(part)
        for theme, own in part.groupby("theme", sort=True):
            shown = own["comment"].value_counts().index[:examples]
            rows.append({**dict(zip(by, key, strict=True)), "theme": int(theme),
                         "label": label_of.get(theme, ""), "answers": len(own),
                         "share": 100 * len(own) / total,
                         "mean_sentiment": float(own["sentiment"].mean()),
                         "examples": " | ".join(str(s) for s in shown)})
    frame = pd.DataFrame(rows, columns=[*by, *THEME_COLUMNS])
    if by:
        frame = frame.sort_values([*by, "answers", "theme"],
                                  ascending=[True] * len(by) + [False, True], kind="stable")
    else:
        frame = frame.sort_values(["answers", "theme"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True)
