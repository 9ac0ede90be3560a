"""The dashboard's languages: message catalogues (``i18n/<lang>.yaml`` and one more file per
area, ``i18n/<lang>.<area>.yaml``; flat ``key: text``) and numbers and dates formatted by Babel
for the locale.

>>> Translator("he").number(1234567)
'1,234,567'
>>> Translator("en").percent(0.125)
'12.5%'
>>> Translator("ar").text("nav.people")
'الأشخاص'
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from importlib import resources
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_decimal, format_percent

LANGUAGES = ("en", "he", "ar")
RTL = frozenset({"he", "ar"})
LOCALES = {"en": "en_US", "he": "he_IL", "ar": "ar_IL"}
"""Babel locales: Israel's Hebrew and Arabic, with Latin digits (Babel's default)."""
NAMES = {"en": "English", "he": "עברית", "ar": "العربية"}


@functools.cache
def _load(language: str) -> dict[str, Any]:
    if language not in LANGUAGES:
        raise KeyError(language)
    folder = resources.files("touchpath.web.dashboard") / "i18n"
    names = sorted(f.name for f in folder.iterdir()
                   if f.name == f"{language}.yaml" or (f.name.startswith(f"{language}.")
                                                       and f.name.endswith(".yaml")))
    data: dict[str, Any] = {}
    for name in names:
        part = yaml.safe_load((folder / name).read_text(encoding="utf-8")) or {}
        twice = sorted(set(data) & set(part))
        if twice:
            raise ValueError(f"i18n/{name} repeats keys of another catalogue: {twice[:5]}")
        data.update(part)
    return data


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    """The messages of ``language`` (a KeyError for a language the dashboard does not speak);
    a message with plural forms appears here in its ``other`` form."""
    return {str(k): str(v["other"] if isinstance(v, dict) else v)
            for k, v in _load(language).items()}


@functools.cache
def plurals(language: str) -> dict[str, dict[str, str]]:
    """The messages of ``language`` that have plural forms, by CLDR category (``zero``,
    ``one``, ``two``, ``few``, ``many``, ``other``: Babel's plural rules pick one)."""
    return {str(k): {str(c): str(t) for c, t in v.items()}
            for k, v in _load(language).items() if isinstance(v, dict)}


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """``?lang=`` wins, then the cookie, then the browser's Accept-Language, then English."""
    for given in (query, cookie):
        if given in LANGUAGES:
            return str(given)
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


class Translator:
    """Messages and formatting for one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self.locale = LOCALES[self.language]
        self.rtl = self.language in RTL
        self.dir = "rtl" if self.rtl else "ltr"
        self.messages = catalogue(self.language)
        self._babel = Locale.parse(self.locale)

    def text(self, key: str, plural: Any = None, **values: Any) -> str:
        """The message ``key`` with ``{name}`` placeholders filled (the key itself if missing,
        which a test prevents); ``plural`` is the number that picks the plural form. Each value
        is wrapped in Unicode first-strong isolates (FSI ... PDI) so that an English event name
        inside a Hebrew sentence keeps its place."""
        forms = plurals(self.language).get(key)
        if forms is not None and plural is not None:
            message = forms.get(str(self._babel.plural_form(plural))) or forms["other"]
        else:
            message = self.messages.get(key) or catalogue("en").get(key, key)
        if not values:
            return message
        return message.format(**{k: f"\u2068{v}\u2069" for k, v in values.items()})

    __call__ = text

    def number(self, value: Any, digits: int = 0) -> str:
        if value is None or value != value:  # None or NaN
            return "–"
        if digits == 0 and isinstance(value, float) and not value.is_integer():
            digits = 1
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def percent(self, value: Any, digits: int = 1) -> str:
        if value is None or value != value:
            return "–"
        pattern = "#,##0" + ("." + "#" * digits if digits else "") + "%"
        return str(format_percent(value, format=pattern, locale=self.locale))

    def date(self, value: Any) -> str:
        parsed = _as_datetime(value)
        if parsed is None:
            return "–"
        return str(format_date(parsed, format="medium", locale=self.locale))

    def datetime(self, value: Any) -> str:
        parsed = _as_datetime(value)
        if parsed is None:
            return "–"
        if not isinstance(parsed, datetime):
            return self.date(parsed)
        # the locale's way of joining a date and a time ("{1}, {0}"), hours and minutes only
        joined = str(get_datetime_format("medium", locale=self.locale))
        return joined.replace("{1}", str(format_date(parsed, format="medium", locale=self.locale))
                              ).replace("{0}", str(format_time(parsed, format="short",
                                                               locale=self.locale)))


def _as_datetime(value: Any) -> datetime | date | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        result: datetime = value.to_pydatetime()
        return result
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
