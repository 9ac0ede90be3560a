"""Analysis specs to and from JSON-ready dicts, with errors that name the field.

Every spec is a frozen dataclass. :func:`to_dict` turns one into plain JSON values (tuples become
lists, dates become ISO strings); :func:`from_dict` builds one back from a dict read from JSON or
YAML, checking every value against the field's type annotation, so a bad value is reported as
``steps[2].window_seconds: expected an integer, got 'seven'``.

Unions of dataclasses (a segment may be behavioural, by property, a person list or a saved
name) are told apart by a ``kind`` key that each such dataclass declares as a ``ClassVar``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from touchpath.errors import ValidationError

T = TypeVar("T")


def to_dict(spec: Any) -> Any:
    """The JSON-ready form of a spec (or of any value inside one)."""
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        out: dict[str, Any] = {}
        kind = getattr(type(spec), "kind", None)
        if isinstance(kind, str):
            out["kind"] = kind
        for field in dataclasses.fields(spec):
            out[field.name] = to_dict(getattr(spec, field.name))
        return out
    if isinstance(spec, tuple | list):
        return [to_dict(item) for item in spec]
    if isinstance(spec, dict):
        return {str(key): to_dict(value) for key, value in spec.items()}
    if isinstance(spec, datetime | date):
        return spec.isoformat()
    return spec


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """Build the dataclass ``cls`` from ``data``; a bad value raises ValidationError naming it."""
    return typing.cast(T, _convert(cls, data, path))


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(path: str, message: str) -> ValidationError:
    return ValidationError(message, field=path or None)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _convert(annotation: Any, value: Any, path: str) -> Any:
    origin = get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        if value is None:
            if type(None) in options:
                return None
            raise _fail(path, "is required")
        classes = [o for o in options if dataclasses.is_dataclass(o)]
        if len(classes) > 1:
            return _convert_tagged(classes, value, path)
        errors: list[ValidationError] = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path)
            except ValidationError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is Literal:
        allowed = get_args(annotation)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise _fail(path, f"must be one of {choices}, got {_describe(value)}")
        return value
    if origin is tuple:
        args = get_args(annotation)
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise _fail(path, f"expected a list, got {_describe(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise _fail(path, f"expected a list of {len(args)} values, got {len(value)}")
        pairs = enumerate(zip(args, value, strict=True))
        return tuple(_convert(a, v, f"{path}[{i}]") for i, (a, v) in pairs)
    if origin is dict:
        key_type, value_type = get_args(annotation)
        if not isinstance(value, dict):
            raise _fail(path, f"expected an object, got {_describe(value)}")
        return {
            _convert(key_type, k, path): _convert(value_type, v, _join(path, str(k)))
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(annotation):
        return _convert_dataclass(typing.cast(type, annotation), value, path)
    return _convert_scalar(annotation, value, path)


def _convert_scalar(annotation: Any, value: Any, path: str) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise _fail(path, f"expected true or false, got {_describe(value)}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _fail(path, f"expected an integer, got {_describe(value)}")
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _fail(path, f"expected a number, got {_describe(value)}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise _fail(path, f"expected a string, got {_describe(value)}")
    if annotation is date:
        return parse_date(value, path)
    if annotation is type(None):
        if value is None:
            return None
        raise _fail(path, f"expected null, got {_describe(value)}")
    raise TypeError(f"unsupported annotation {annotation!r} at {path}")


def parse_date(value: Any, path: str) -> date:
    """A calendar date from ``YYYY-MM-DD`` (a date and time is refused: say which day)."""
    if isinstance(value, datetime):
        raise _fail(path, "expected a date (YYYY-MM-DD), got a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(path, f"expected a date as YYYY-MM-DD, got {_describe(value)}")


def _convert_tagged(classes: list[Any], value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise _fail(path, f"expected an object, got {_describe(value)}")
    by_kind = {getattr(c, "kind", None): c for c in classes}
    kind = value.get("kind")
    if kind not in by_kind:
        choices = ", ".join(repr(k) for k in by_kind)
        raise _fail(_join(path, "kind"), f"must be one of {choices}, got {_describe(kind)}")
    return _convert_dataclass(by_kind[kind], value, path)


def _convert_dataclass(cls: type, value: Any, path: str) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise _fail(path, f"expected an object, got {_describe(value)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kind = getattr(cls, "kind", None)
    unknown = [k for k in value if k not in fields and not (k == "kind" and kind is not None)]
    if unknown:
        known = ", ".join(sorted(fields))
        raise _fail(_join(path, str(unknown[0])), f"unknown field; known fields: {known}")
    if kind is not None and value.get("kind", kind) != kind:
        raise _fail(_join(path, "kind"), f"must be {kind!r}")
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name in value:
            kwargs[name] = _convert(hints[name], value[name], _join(path, name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise _fail(_join(path, name), "is required")
    try:
        return cls(**kwargs)
    except ValidationError as exc:
        if exc.field and path and not exc.field.startswith(path):
            exc.field = _join(path, exc.field)
        raise


def check_int(value: object, name: str, low: int, high: int | None) -> None:
    """Refuse a value that is not an integer from ``low`` to ``high`` (no upper bound when
    ``high`` is None), naming the field: the range check specs share in ``__post_init__``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected an integer, got {value!r}", field=name)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError(f"must be {bound}, got {value}", field=name)
