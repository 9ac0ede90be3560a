"""Free text of survey answers: themes per score band and stage, and a sentiment per answer.

The method works offline in any language written with words (no model, nothing downloaded):

- **Words**: Unicode NFKC, case folding, combining marks removed (accents, Hebrew niqqud, Arabic
  harakat), Arabic tatweel removed and alef/ya/ta-marbuta variants folded; tokens are runs of
  Unicode word characters (``\\w+``) of two or more characters, not all digits. Stop words of
  the languages the lexicon knows (en, he, ar) are left out; other languages keep all words.
- **Themes**: comments are clustered by average-linkage agglomerative clustering on the cosine
  distance of TF-IDF vectors of their words *and* of the character 3-grams of each word (so
  ``המשלוח``/``משלוח`` and ``التوصيل``/``توصيل`` share most features without any
  language-specific stemming), cut at ``threshold``. A theme is labelled by its top terms (words
  and word pairs) by class-based TF-IDF (c-TF-IDF, Grootendorst 2022, BERTopic).
- **Terms per group**: the c-TF-IDF top words and word pairs of each band/stage (per language).
- **Sentiment**: :class:`LexiconScorer` (the YAML lexicon ``sentiment.yaml`` shipped with
  touchpath, en/he/ar): the sum of word polarities, a negator up to three words before a word
  flipping the first polar word it reaches (times -0.74), words before a "but" weighing 0.5
  and after it 1.5, normalised to (-1, 1) by ``s / sqrt(s^2 + 15)``; the constants are
  VADER's (Hutto & Gilbert 2014). Any :class:`SentimentScorer` can be registered by name with
  :func:`register_scorer` and chosen by ``ThemesSpec.scorer``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import yaml
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

# --- words ------------------------------------------------------------------------------

_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه",
                       "ـ": None, "’": "'", "‘": "'", "״": '"', "׳": "'"})
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=65_536)  # comments repeat ("Great!"): normalise each text once
def normalize(text: str) -> str:
    """Case-folded text without combining marks, Arabic letter variants folded."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", text.translate(_FOLD))


def words(text: str) -> list[str]:
    """The word tokens of ``text`` (normalised; two characters or more; not only digits)."""
    return [w for w in _WORD.findall(normalize(text).replace("_", " "))
            if len(w) > 1 and not w.isdigit()]


def script_language(text: str) -> str:
    """``he`` or ``ar`` when most letters are Hebrew or Arabic, else ``en``."""
    hebrew = sum("\u0590" <= c <= "\u05ff" for c in text)
    arabic = sum("\u0600" <= c <= "\u06ff" for c in text)
    latin = sum(c.isascii() and c.isalpha() for c in text)
    if hebrew > max(arabic, latin):
        return "he"
    if arabic > max(hebrew, latin):
        return "ar"
    return "en"


def language_of(text: str, language: str | None) -> str:
    """The two-letter language of a comment: its ``language`` (``he-IL`` -> ``he``), else
    its script."""
    if language:
        return language.split("-")[0].split("_")[0].lower()
    return script_language(text)


# --- the lexicon and the sentiment scorers ---------------------------------------------------

@dataclass(frozen=True)
class Lexicon:
    polarity: dict[str, float]
    negators: frozenset[str]
    contrast: frozenset[str]
    stop_words: frozenset[str]
    prefixes: tuple[str, ...]


PREFIXES = {"he": ("ו", "ה", "ב", "ל", "מ", "ש", "כ"),
            "ar": ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")}
"""One-letter (Arabic: and article) prefixes the lexicon lookup strips, once or twice, when a
word is not in the lexicon as written."""


@cache
def lexicons() -> dict[str, Lexicon]:
    """The shipped lexicon (``touchpath/voice/sentiment.yaml``), keys normalised."""
    text = resources.files("touchpath.voice").joinpath("sentiment.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    found = {}
    for language, entry in data.items():
        polarity = {normalize(str(k)): float(v) for part in ("positive", "negative")
                    for k, v in (entry.get(part) or {}).items()}
        found[str(language)] = Lexicon(
            polarity, frozenset(normalize(str(w)) for w in entry.get("negators") or ()),
            frozenset(normalize(str(w)) for w in entry.get("contrast") or ()),
            frozenset(normalize(str(w)) for w in entry.get("stop_words") or ()),
            PREFIXES.get(str(language), ()))
    return found


@runtime_checkable
class SentimentScorer(Protocol):
    """Scores texts from -1 (negative) to 1 (positive); ``languages`` are two-letter codes or
    locales, ``None`` when unknown (one per text)."""

    def score(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[float]: ...


NEGATION = -0.74  # VADER's N_SCALAR
ALPHA = 15.0  # VADER's normalisation constant
WINDOW = 3


class LexiconScorer:
    """The offline default: word polarities from ``sentiment.yaml`` with negation (see the
    module docstring). A language the lexicon lacks scores 0."""

    def score(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[float]:
        if len(texts) != len(languages):
            raise ValidationError(f"{len(languages)} languages for {len(texts)} texts",
                                  field="languages")
        return [self.score_one(t, language) for t, language in zip(texts, languages,
                                                                    strict=True)]

    def score_one(self, text: str, language: str | None = None) -> float:
        code = language_of(text, language)
        lexicon = lexicons().get(code)
        if lexicon is None:
            return 0.0
        text = normalize(text)
        if code == "en":  # "didn't" -> "did not"
            text = text.replace("n't", " not")
        tokens = _WORD.findall(text)
        values: list[float] = []
        negated_until = -1  # a negator reaches the first polar word in the next WINDOW words
        turn = None  # where the last "but" is
        for i, token in enumerate(tokens):
            base = _base(lexicon, token)
            if base in lexicon.negators:
                negated_until = i + WINDOW
                continue
            if base in lexicon.contrast:
                turn = len(values)
                continue
            value = _lookup(lexicon, token)
            if value is None:
                continue
            if i <= negated_until:
                value *= NEGATION
                negated_until = -1
            values.append(value)
        if turn is not None:  # "x but y": y weighs 1.5, x 0.5 (VADER)
            values = [v * (0.5 if k < turn else 1.5) for k, v in enumerate(values)]
        total = sum(values)
        return total / math.sqrt(total * total + ALPHA)


def _lookup(lexicon: Lexicon, token: str) -> float | None:
    if token in lexicon.polarity:
        return lexicon.polarity[token]
    for first in lexicon.prefixes:
        if token.startswith(first) and len(token) - len(first) >= 2:
            rest = token[len(first):]
            if rest in lexicon.polarity:
                return lexicon.polarity[rest]
            for second in lexicon.prefixes:
                if rest.startswith(second) and len(rest) - len(second) >= 2 \
                        and rest[len(second):] in lexicon.polarity:
                    return lexicon.polarity[rest[len(second):]]
    return None


def _base(lexicon: Lexicon, token: str) -> str:
    """A negator written behind a prefix (``ולא``, ``ولم``) reads as the negator."""
    if token in lexicon.negators:
        return token
    for first in lexicon.prefixes:
        if token.startswith(first) and token[len(first):] in lexicon.negators:
            return token[len(first):]
    return token


SCORERS: dict[str, Callable[[], SentimentScorer]] = {"lexicon": LexiconScorer}


def register_scorer(name: str, factory: Callable[[], SentimentScorer]) -> None:
    """Make ``factory()`` the scorer ``ThemesSpec(scorer=name)`` uses (e.g. a model you host).

    >>> class Always(LexiconScorer):
    ...     def score(self, texts, languages): return [0.5 for _ in texts]
    >>> register_scorer("always", Always)
    """
    if not name:
        raise ValidationError("a scorer needs a name", field="name")
    SCORERS[name] = factory


def get_scorer(name: str) -> SentimentScorer:
    try:
        factory = SCORERS[name]
    except KeyError:
        raise ValidationError(f"no sentiment scorer {name!r}; scorers: "
                              f"{', '.join(sorted(SCORERS))}", field="scorer") from None
    return factory()


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
