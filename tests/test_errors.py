"""The error tree: stable codes and statuses, one JSON envelope."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpath import errors
from touchpath.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    OverloadedError,
    PayloadTooLargeError,
    QueryError,
    RateLimitError,
    StorageError,
    StoreLockedError,
    TouchpathError,
    ValidationError,
)

# The public contract: scripts and the HTTP API match on these codes. Changing one is a break.
CONTRACT: dict[type[TouchpathError], tuple[str, int, type[Exception]]] = {
    TouchpathError: ("touchpath_error", 500, Exception),
    ValidationError: ("invalid", 400, TouchpathError),
    PayloadTooLargeError: ("payload_too_large", 413, ValidationError),
    AuthError: ("unauthorized", 401, TouchpathError),
    ConfigError: ("bad_config", 500, TouchpathError),
    StorageError: ("storage_error", 503, TouchpathError),
    StoreLockedError: ("store_locked", 503, StorageError),
    OverloadedError: ("overloaded", 503, StorageError),
    RateLimitError: ("rate_limited", 429, TouchpathError),
    NotFoundError: ("not_found", 404, TouchpathError),
    QueryError: ("bad_query", 400, TouchpathError),
}


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _all_subclasses(sub)
    return found


def test_every_error_class_is_in_the_contract() -> None:
    module_classes = {
        obj for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, TouchpathError)
    }
    assert module_classes == set(CONTRACT)
    assert {c for c in _all_subclasses(TouchpathError) if c.__module__ == errors.__name__} == (
        set(CONTRACT) - {TouchpathError}
    )


@pytest.mark.parametrize("cls", list(CONTRACT), ids=lambda c: c.__name__)
def test_code_status_and_parent_are_stable(cls: type[TouchpathError]) -> None:
    code, status, parent = CONTRACT[cls]
    assert cls.code == code
    assert cls.status == status
    assert cls.__bases__ == (parent,)
    # the class attributes are what instances answer with
    instance = cls("boom")
    assert instance.code == code
    assert instance.status == status


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in CONTRACT]
    assert len(codes) == len(set(codes))


def test_every_subclass_defines_its_own_code() -> None:
    for cls in CONTRACT:
        if cls is TouchpathError:
            continue
        assert "code" in vars(cls), f"{cls.__name__} inherits its code"


@pytest.mark.parametrize("cls", list(CONTRACT), ids=lambda c: c.__name__)
def test_status_is_an_http_error_status(cls: type[TouchpathError]) -> None:
    assert isinstance(cls.status, int)
    assert 400 <= cls.status <= 599


def test_every_code_is_drawn_in_the_module_docstring() -> None:
    doc = errors.__doc__ or ""
    for cls, (code, status, _) in CONTRACT.items():
        line = next((ln for ln in doc.splitlines() if f" {cls.__name__} " in f" {ln} "), None)
        assert line is not None, cls.__name__
        assert code in line and str(status) in line, line


@pytest.mark.parametrize("cls", list(CONTRACT), ids=lambda c: c.__name__)
def test_envelope_with_field(cls: type[TouchpathError]) -> None:
    err = cls("must be a number", field="batch[3].properties.revenue")
    assert err.to_dict() == {
        "error": {
            "code": cls.code,
            "message": "must be a number",
            "field": "batch[3].properties.revenue",
        }
    }
    assert str(err) == "batch[3].properties.revenue: must be a number"
    assert err.message == "must be a number"
    assert err.field == "batch[3].properties.revenue"


@pytest.mark.parametrize("cls", list(CONTRACT), ids=lambda c: c.__name__)
def test_envelope_without_field_has_no_field_key(cls: type[TouchpathError]) -> None:
    err = cls("store is gone")
    assert err.to_dict() == {"error": {"code": cls.code, "message": "store is gone"}}
    assert "field" not in err.to_dict()["error"]
    assert str(err) == "store is gone"
    assert err.field is None


def test_errors_are_caught_by_their_ancestors() -> None:
    with pytest.raises(ValidationError):
        raise PayloadTooLargeError("too big")
    with pytest.raises(StorageError):
        raise StoreLockedError("locked")
    with pytest.raises(TouchpathError):
        raise QueryError("no")
    assert not issubclass(ConfigError, ValidationError)
    assert not issubclass(AuthError, ValidationError)


def test_field_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        ValidationError("message", "field")  # type: ignore[misc]


@given(
    cls=st.sampled_from(list(CONTRACT)),
    message=st.text(),
    field=st.none() | st.text(),
)
def test_envelope_is_json_and_round_trips(
    cls: type[TouchpathError], message: str, field: str | None
) -> None:
    err = cls(message, field=field)
    envelope = json.loads(json.dumps(err.to_dict()))
    assert set(envelope) == {"error"}
    body = envelope["error"]
    expected_keys = {"code", "message"} | ({"field"} if field is not None else set())
    assert set(body) == expected_keys
    assert body["code"] == cls.code
    assert body["message"] == message
    assert body.get("field") == field
