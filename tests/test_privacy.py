"""IP anonymisation: truncate, hash, keep, drop; garbage is dropped."""

from __future__ import annotations

import hashlib
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpath.privacy import anonymise_ip

MODES = ("truncate", "hash", "keep", "drop")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.0.0.255", "10.0.0.0"),
        ("  192.168.1.9\n", "192.168.1.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("2001:DB8:85A3::1", "2001:db8:85a3::"),
        ("::1", "::"),
        ("fe80::1%eth0", "fe80::"),
    ],
)
def test_truncate(raw: str, expected: str) -> None:
    assert anonymise_ip(raw, "truncate") == expected


def test_hash_is_salted_sha256_of_the_canonical_address() -> None:
    digest = hashlib.sha256(b"pepper203.0.113.77").hexdigest()[:32]
    assert anonymise_ip("203.0.113.77", "hash", "pepper") == digest
    assert anonymise_ip(" 203.0.113.77 ", "hash", "pepper") == digest
    assert anonymise_ip("203.0.113.77", "hash", "salt") != digest
    v6 = hashlib.sha256(b"pepper2001:db8::1").hexdigest()[:32]
    assert anonymise_ip("2001:DB8:0::1", "hash", "pepper") == v6


def test_keep_stores_the_canonical_address() -> None:
    assert anonymise_ip("203.0.113.77", "keep") == "203.0.113.77"
    assert anonymise_ip("2001:DB8:0:0::1", "keep") == "2001:db8::1"


@pytest.mark.parametrize("raw", ["203.0.113.77", "2001:db8::1", "garbage"])
def test_drop(raw: str) -> None:
    assert anonymise_ip(raw, "drop") is None


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "not an ip", "256.1.1.1", "1.2.3", "1.2.3.4.5", "2001:db8:::1", "1.2.3.4/24",
     None, 16909060, 1.5, ["1.2.3.4"], b"1.2.3.4"],
)
@pytest.mark.parametrize("mode", MODES)
def test_garbage_is_dropped(raw: object, mode: str) -> None:
    assert anonymise_ip(raw, mode, "salt") is None


@given(address=st.ip_addresses(v=4))
def test_truncate_ipv4_zeroes_the_last_octet(address: ipaddress.IPv4Address) -> None:
    out = anonymise_ip(str(address), "truncate")
    assert out is not None
    truncated = ipaddress.IPv4Address(out)
    assert int(truncated) == int(address) & 0xFFFFFF00
    assert str(address).rsplit(".", 1)[0] == out.rsplit(".", 1)[0]
    assert out.endswith(".0")


@given(address=st.ip_addresses(v=6))
def test_truncate_ipv6_zeroes_the_last_80_bits(address: ipaddress.IPv6Address) -> None:
    out = anonymise_ip(str(address), "truncate")
    assert out is not None
    truncated = ipaddress.IPv6Address(out)
    assert int(truncated) == int(address) >> 80 << 80


@given(address=st.ip_addresses(), salt=st.text(max_size=10))
def test_hash_is_deterministic_and_hides_the_address(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, salt: str
) -> None:
    out = anonymise_ip(str(address), "hash", salt)
    assert out == anonymise_ip(str(address), "hash", salt)
    assert out is not None and len(out) == 32
    int(out, 16)  # hex
    assert str(address) not in out
    assert out == hashlib.sha256((salt + str(address)).encode()).hexdigest()[:32]


@given(raw=st.text(max_size=40), mode=st.sampled_from(MODES))
def test_never_raises(raw: str, mode: str) -> None:
    out = anonymise_ip(raw, mode, "salt")
    assert out is None or isinstance(out, str)
