"""Channel classification of every touchpoint.

Online touchpoints are classified from their UTM tags, ad click ids and referrer, following the
order of Google Analytics 4's default channel group (a paid medium beats a social source, an
e-mail tag beats everything but an offline source). Imported offline touchpoints carry the name of
the system they came from (``source``): a POS export, a call-centre log, a help desk.

Classification runs once per distinct (source, utm_source, utm_medium, referrer host, page host,
click id) combination in a write batch, never per row: a million rows have a few hundred of them.
The rules, in order, are documented in ``docs/channels.md``.
"""

from __future__ import annotations

import re
from functools import lru_cache

PAID_SEARCH = "paid_search"
ORGANIC_SEARCH = "organic_search"
PAID_SOCIAL = "paid_social"
ORGANIC_SOCIAL = "organic_social"
EMAIL = "email"
SMS = "sms"
REFERRAL = "referral"
DIRECT = "direct"
AFFILIATE = "affiliate"
DISPLAY = "display"
PAID_OTHER = "paid_other"
OTHER = "other"
STORE = "store"
CALL_CENTRE = "call_centre"
HELP_DESK = "help_desk"
EVENTS = "events"
DIRECT_MAIL = "direct_mail"

ONLINE_CHANNELS = (
    PAID_SEARCH, ORGANIC_SEARCH, PAID_SOCIAL, ORGANIC_SOCIAL, EMAIL, SMS, REFERRAL, DIRECT,
    AFFILIATE, DISPLAY, PAID_OTHER, OTHER,
)
OFFLINE_CHANNELS = (STORE, CALL_CENTRE, HELP_DESK, EVENTS, DIRECT_MAIL)
CHANNELS = ONLINE_CHANNELS + OFFLINE_CHANNELS

OFFLINE_SOURCES = {
    STORE: ("store", "pos", "retail", "shop", "branch", "in_store", "in-store"),
    CALL_CENTRE: ("call_centre", "call_center", "callcentre", "callcenter", "phone", "ivr",
                  "telesales"),
    HELP_DESK: ("help_desk", "helpdesk", "support", "zendesk", "freshdesk", "ticket", "tickets"),
    EVENTS: ("events", "event", "trade_show", "tradeshow", "conference", "expo", "fair"),
    DIRECT_MAIL: ("direct_mail", "directmail", "mail", "post", "catalogue", "catalog", "flyer"),
}
_OFFLINE_BY_SOURCE = {name: channel for channel, names in OFFLINE_SOURCES.items() for name in names}

SEARCH_ENGINES = (
    "google", "bing", "yahoo", "duckduckgo", "baidu", "yandex", "ecosia", "naver", "ask",
    "aol", "qwant", "startpage", "brave", "seznam", "so.com", "sogou",
)
SOCIAL_NETWORKS = (
    "facebook", "fb", "instagram", "ig", "twitter", "x.com", "t.co", "linkedin", "lnkd.in",
    "pinterest", "reddit", "tiktok", "youtube", "snapchat", "whatsapp", "telegram", "threads",
    "tumblr", "vk", "quora", "meta", "messenger", "wechat", "line", "discord",
)
WEBMAIL_HOSTS = (
    "mail.google.com", "outlook.live.com", "outlook.office.com", "mail.yahoo.com",
    "mail.aol.com", "webmail",
)
SEARCH_CLICK_IDS = ("gclid", "gbraid", "wbraid", "msclkid")
DISPLAY_CLICK_IDS = ("dclid",)
SOCIAL_CLICK_IDS = ("ttclid", "li_fat_id", "twclid", "sccid")
CLICK_IDS = SEARCH_CLICK_IDS + DISPLAY_CLICK_IDS + SOCIAL_CLICK_IDS

_PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*|ads?)$")
_EMAIL = re.compile(r"e[-_ ]?mail|newsletter")
_SOCIAL_MEDIUM = ("social", "social-network", "social-media", "sm", "social network",
                  "social media", "social_media")
_DISPLAY_MEDIUM = ("display", "banner", "cpm", "expandable", "interstitial", "programmatic")
_AFFILIATE_MEDIUM = ("affiliate", "affiliates", "partner", "partners")
_REFERRAL_MEDIUM = ("referral", "link", "app")


def _matches(value: str, names: tuple[str, ...]) -> bool:
    """True when ``value`` (a source or a host) names one of ``names``."""
    if not value:
        return False
    if value in names:
        return True
    parts = value.split(".")
    # hosts: www.google.co.il, l.facebook.com, m.youtube.com; sources: 'google_ads'
    return any(part in names for part in parts) or any(
        value.startswith(name + "_") or value.startswith(name + "-") for name in names
    ) or any(value.endswith("." + name) for name in names if "." in name)


@lru_cache(maxsize=65536)
def classify(
    source: str | None = None,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    referrer_host: str | None = None,
    page_host: str | None = None,
    click_id: str | None = None,
) -> str:
    """The channel of one touchpoint.

    >>> classify(utm_source="google", utm_medium="cpc")
    'paid_search'
    >>> classify(referrer_host="www.google.co.il")
    'organic_search'
    >>> classify(source="pos")
    'store'
    """
    src = (source or "").strip().lower()
    # a touchpoint on a web page is online whatever its source is called (a site's write key
    # named "shop" must not make the site's traffic a store visit)
    if src in _OFFLINE_BY_SOURCE and not page_host:
        return _OFFLINE_BY_SOURCE[src]
    usource = (utm_source or "").strip().lower()
    medium = (utm_medium or "").strip().lower()
    ref = (referrer_host or "").strip().lower().removeprefix("www.")
    page = (page_host or "").strip().lower().removeprefix("www.")

    if usource or medium:
        if usource == "(direct)" and medium in ("", "(none)", "(not set)"):
            return DIRECT
        if _EMAIL.search(usource) or _EMAIL.search(medium):
            return EMAIL
        if medium == "sms" or usource == "sms":
            return SMS
        if medium in _AFFILIATE_MEDIUM:
            return AFFILIATE
        if medium in _DISPLAY_MEDIUM:
            return DISPLAY
        if _PAID_MEDIUM.match(medium):
            if _matches(usource, SOCIAL_NETWORKS):
                return PAID_SOCIAL
            if _matches(usource, SEARCH_ENGINES):
                return PAID_SEARCH
            return PAID_OTHER
        if medium in _SOCIAL_MEDIUM or _matches(usource, SOCIAL_NETWORKS):
            return ORGANIC_SOCIAL
        if medium == "organic" or _matches(usource, SEARCH_ENGINES):
            return ORGANIC_SEARCH
        if medium in _REFERRAL_MEDIUM:
            return REFERRAL
        return OTHER

    if click_id in SEARCH_CLICK_IDS:
        return PAID_SEARCH
    if click_id in DISPLAY_CLICK_IDS:
        return DISPLAY
    if click_id in SOCIAL_CLICK_IDS:
        return PAID_SOCIAL
    if not ref or (page and (ref == page or ref.endswith("." + page))):
        return DIRECT
    if any(host in ref for host in WEBMAIL_HOSTS):
        return EMAIL
    if _matches(ref, SEARCH_ENGINES):
        return ORGANIC_SEARCH
    if _matches(ref, SOCIAL_NETWORKS):
        return ORGANIC_SOCIAL
    return REFERRAL
