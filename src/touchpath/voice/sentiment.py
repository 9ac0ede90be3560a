"""Words and sentiment of free text, offline, in any language written with words.

- **Words**: Unicode NFKC, case folding, combining marks removed (accents, Hebrew niqqud, Arabic
  harakat), Arabic tatweel removed and alef/ya/ta-marbuta variants folded; tokens are runs of
  Unicode word characters (``\\w+``) of two or more characters, not all digits. Stop words of
  the languages the lexicon knows (en, he, ar) are left out; other languages keep all words.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Protocol, runtime_checkable

import yaml

from touchpath.errors import ValidationError

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


