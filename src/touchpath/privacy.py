"""Privacy rules applied before anything is stored: IP anonymisation."""

from __future__ import annotations

import hashlib
import ipaddress
from functools import lru_cache


def anonymise_ip(raw: object, mode: str, salt: str = "") -> str | None:
    """Apply the ``ip_mode`` setting to one address.

    ``truncate`` zeroes the last octet of IPv4 and the last 80 bits of IPv6 (the convention of
    Google Analytics' IP anonymisation); ``hash`` keeps a salted SHA-256 (first 32 hex digits);
    ``keep`` stores as sent; ``drop`` stores nothing. Unparseable values are dropped.
    """
    if mode == "drop" or not isinstance(raw, str) or not raw:
        return None
    return _anonymise(raw, mode, salt)


@lru_cache(maxsize=16384)  # every message of a batch carries the same client address
def _anonymise(raw: str, mode: str, salt: str) -> str | None:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if mode == "keep":
        return str(address)
    if mode == "hash":
        return hashlib.sha256((salt + str(address)).encode()).hexdigest()[:32]
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)
