"""Channel classification: UTM tags, click ids, referrers and offline sources."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpath.journey.channels import (
    CHANNELS,
    OFFLINE_CHANNELS,
    OFFLINE_SOURCES,
    ONLINE_CHANNELS,
    classify,
)

# (source, utm_source, utm_medium, referrer_host, page_host, click_id) -> channel
CASES: list[tuple[tuple[str | None, ...], str]] = [
    # paid search
    ((None, "google", "cpc", None, None, None), "paid_search"),
    ((None, "bing", "ppc", None, None, None), "paid_search"),
    ((None, "google_ads", "paid", None, None, None), "paid_search"),
    ((None, "Google", "CPC", "www.google.com", None, None), "paid_search"),
    ((None, None, None, None, "shop.example.com", "gclid"), "paid_search"),
    ((None, None, None, "www.google.com", "shop.example.com", "msclkid"), "paid_search"),
    ((None, None, None, None, None, "gbraid"), "paid_search"),
    # organic search
    ((None, None, None, "www.google.co.il", "shop.example.com", None), "organic_search"),
    ((None, None, None, "duckduckgo.com", None, None), "organic_search"),
    ((None, None, None, "m.baidu.com", None, None), "organic_search"),
    ((None, None, None, "so.com", None, None), "organic_search"),
    ((None, "bing", "organic", None, None, None), "organic_search"),
    ((None, "yahoo", None, None, None, None), "organic_search"),
    # paid social
    ((None, "facebook", "cpc", None, None, None), "paid_social"),
    ((None, "instagram", "paid_social", None, None, None), "paid_social"),
    ((None, "linkedin", "ads", None, None, None), "paid_social"),
    ((None, None, None, None, None, "ttclid"), "paid_social"),
    ((None, None, None, "l.facebook.com", None, "li_fat_id"), "paid_social"),
    # organic social
    ((None, None, None, "l.facebook.com", None, None), "organic_social"),
    ((None, None, None, "t.co", None, None), "organic_social"),
    ((None, None, None, "reddit.com", None, None), "organic_social"),
    ((None, None, None, "www.reddit.com", "shop.example.com", None), "organic_social"),
    ((None, None, None, "m.youtube.com", None, None), "organic_social"),
    ((None, None, None, "x.com", None, None), "organic_social"),
    ((None, None, None, "lnkd.in", None, None), "organic_social"),
    ((None, "twitter", "social", None, None, None), "organic_social"),
    ((None, "partner-blog", "social-media", None, None, None), "organic_social"),
    # e-mail, including newsletters and webmail referrers
    ((None, "newsletter", "email", None, None, None), "email"),
    ((None, "mailchimp", "e-mail", None, None, None), "email"),
    ((None, "weekly_newsletter", None, None, None, None), "email"),
    ((None, "google", "e_mail", None, None, None), "email"),  # e-mail beats a search source
    ((None, "newsletter", "cpc", None, None, None), "email"),  # ... and a paid medium
    ((None, None, None, "mail.google.com", None, None), "email"),
    ((None, None, None, "outlook.live.com", None, None), "email"),
    ((None, None, None, "webmail.example.net", None, None), "email"),
    # sms
    ((None, "sms", None, None, None, None), "sms"),
    ((None, "twilio", "sms", None, None, None), "sms"),
    # affiliate, display, paid other
    ((None, "awin", "affiliate", None, None, None), "affiliate"),
    ((None, "partnerstack", "partners", None, None, None), "affiliate"),
    ((None, "gdn", "display", None, None, None), "display"),
    ((None, "dv360", "cpm", None, None, None), "display"),
    ((None, "taboola", "banner", None, None, None), "display"),
    ((None, None, None, None, None, "dclid"), "display"),
    ((None, "outbrain", "cpc", None, None, None), "paid_other"),
    ((None, "podcast-network", "paid", None, None, None), "paid_other"),
    ((None, "criteo", "retargeting", None, None, None), "paid_other"),
    # referral
    ((None, None, None, "news.ycombinator.com", "shop.example.com", None), "referral"),
    ((None, None, None, "blog.partner.org", None, None), "referral"),
    ((None, "partner.org", "referral", None, None, None), "referral"),
    ((None, "appstore", "app", None, None, None), "referral"),
    ((None, None, None, "microsoft.com", None, None), "referral"),  # '.co' is not t.co
    # direct
    ((None, None, None, None, None, None), "direct"),
    ((None, None, None, None, "shop.example.com", None), "direct"),
    ((None, "(direct)", "(none)", None, None, None), "direct"),
    ((None, "(direct)", None, None, None, None), "direct"),
    ((None, None, None, "shop.example.com", "shop.example.com", None), "direct"),  # internal
    ((None, None, None, "www.shop.example.com", "shop.example.com", None), "direct"),
    ((None, None, None, "checkout.shop.example.com", "shop.example.com", None), "direct"),
    # other
    ((None, "spring-poster", "qr", None, None, None), "other"),
    ((None, "somewhere", None, None, None, None), "other"),
    # offline sources
    (("pos", None, None, None, None, None), "store"),
    (("Store", None, None, None, None, None), "store"),
    (("in-store", "google", "cpc", "www.google.com", None, "gclid"), "store"),  # source wins
    (("call_center", None, None, None, None, None), "call_centre"),
    (("ivr", None, None, None, None, None), "call_centre"),
    (("zendesk", None, None, None, None, None), "help_desk"),
    ((" Helpdesk ", None, None, None, None, None), "help_desk"),
    (("trade_show", None, None, None, None, None), "events"),
    (("conference", None, None, None, None, None), "events"),
    (("direct_mail", None, None, None, None, None), "direct_mail"),
    (("catalogue", None, None, None, None, None), "direct_mail"),
    # a source that is not an offline system does not decide
    (("web", None, None, "www.google.com", None, None), "organic_search"),
    (("ios-app", None, None, None, None, None), "direct"),
]


@pytest.mark.parametrize(
    ("args", "expected"), CASES, ids=[f"{exp}-{i}" for i, (_, exp) in enumerate(CASES)]
)
def test_classify(args: tuple[str | None, ...], expected: str) -> None:
    assert classify(*args) == expected


def test_the_table_covers_every_channel() -> None:
    assert {expected for _, expected in CASES} == set(CHANNELS)
    assert len(CASES) >= 30


def test_channel_lists_are_consistent() -> None:
    assert set(ONLINE_CHANNELS).isdisjoint(OFFLINE_CHANNELS)
    assert set(OFFLINE_SOURCES) == set(OFFLINE_CHANNELS)
    assert len(CHANNELS) == len(set(CHANNELS))


@pytest.mark.parametrize(
    ("channel", "source"),
    [(channel, source) for channel, names in OFFLINE_SOURCES.items() for source in names],
)
def test_every_offline_source_name(channel: str, source: str) -> None:
    assert classify(source=source) == channel
    assert classify(source=source.upper(), utm_source="google", utm_medium="cpc") == channel


def test_docstring_examples() -> None:
    assert classify(utm_source="google", utm_medium="cpc") == "paid_search"
    assert classify(referrer_host="www.google.co.il") == "organic_search"
    assert classify(source="pos") == "store"


text = st.none() | st.text(max_size=15) | st.sampled_from(
    ["google", "facebook", "cpc", "email", "pos", "t.co", "www.google.com", "gclid", "(direct)"])


@given(args=st.tuples(text, text, text, text, text, text))
def test_classify_always_answers_a_known_channel(args: tuple[str | None, ...]) -> None:
    assert classify(*args) in CHANNELS


@given(source=st.sampled_from([n for names in OFFLINE_SOURCES.values() for n in names]),
       rest=st.tuples(text, text, text, text))
def test_offline_source_beats_everything_off_the_web(
    source: str, rest: tuple[str | None, ...]
) -> None:
    utm_source, utm_medium, referrer_host, click_id = rest
    assert classify(source, utm_source, utm_medium, referrer_host, None,
                    click_id) in OFFLINE_CHANNELS


@given(source=st.sampled_from([n for names in OFFLINE_SOURCES.values() for n in names]))
def test_a_web_page_is_online_whatever_its_source_is_called(source: str) -> None:
    assert classify(source, page_host="shop.example") == "direct"
    assert classify(source, utm_source="google", utm_medium="cpc",
                    page_host="shop.example") == "paid_search"


@given(host=st.from_regex(r"[a-z]{1,10}\.(com|net|org)", fullmatch=True),
       sub=st.sampled_from(["", "www.", "m.", "shop."]))
def test_a_referrer_from_the_same_site_is_direct(host: str, sub: str) -> None:
    assert classify(referrer_host=sub + host, page_host=host) == "direct"
