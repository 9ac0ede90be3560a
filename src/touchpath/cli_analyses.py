"""The analysis commands of the CLI: ``touchpath funnel|paths|retention|lifecycle|stages|sessions``
and ``touchpath segments``.

Each command reads a spec (a JSON or YAML file, inline JSON, or ``-`` for standard input),
applies ``--set field=value`` overrides, runs it through :func:`touchpath.analytics.run_json`
on the store (or on a Parquet export with ``--parquet``) and prints the result's table, its JSON
form or CSV.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import pandas as pd
import typer
import yaml
from rich.table import Table

from touchpath.analytics.registry import ANALYSES
from touchpath.cli import _errors, app, err, open_store, out, settings
from touchpath.errors import ValidationError

Format = Literal["table", "json", "csv"]

segments_app = typer.Typer(help="Saved segments (behavioural or by property).",
                           no_args_is_help=True)
app.add_typer(segments_app, name="segments")


def read_spec(spec: str | None, overrides: list[str]) -> dict[str, Any]:
    """The spec dict from ``--spec`` (file, inline JSON or ``-``) and ``--set`` overrides."""
    data: Any = {}
    if spec:
        if spec == "-":
            text = sys.stdin.read()
        elif spec.lstrip().startswith("{"):
            text = spec
        else:
            path = Path(spec)
            if not path.exists():
                raise ValidationError(f"no spec file {spec}; give a JSON/YAML file, inline JSON "
                                      "or '-' for standard input", field="--spec")
            text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)  # YAML is a superset of JSON
        except yaml.YAMLError as exc:
            raise ValidationError(f"the spec is not valid JSON or YAML: {exc}",
                                  field="--spec") from exc
        if not isinstance(data, dict):
            raise ValidationError("the spec must be an object (a mapping)", field="--spec")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"expected field=value, got {item!r}", field="--set")
        try:
            data[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            data[key] = value
    return dict(data)


def _source(parquet: Path | None) -> Any:
    from touchpath.analytics.source import TableSource

    if not parquet:
        return None
    source = TableSource.from_parquet(parquet)
    source.timezone = settings().timezone
    return source


def _print(answer: dict[str, Any], frame: pd.DataFrame, fmt: Format,
           output: Path | None) -> None:
    if fmt == "json":
        text = orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode()
    elif fmt == "csv":
        text = frame.to_csv(index=False)
    else:
        table = Table(show_header=True, header_style="bold")
        for column in frame.columns:
            table.add_column(str(column))
        for row in frame.itertuples(index=False):
            table.add_row(*(_cell(v) for v in row))
        if output is None:
            out.print(table)
            for key, value in answer["summary"].items():
                if isinstance(value, int | float | str):
                    out.print(f"{key}: {_cell(value)}")
            return
        text = frame.to_string(index=False)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text, encoding="utf-8")


def _ask_server(server: str, name: str, spec: dict[str, Any], persons: bool) -> dict[str, Any]:
    """POST the spec to a running server; its error envelope becomes the same error here."""
    from touchpath import errors

    token = settings().admin_token
    if not token:
        raise ValidationError("set the server's admin token (TOUCHPATH_ADMIN_TOKEN or "
                              "admin_token in touchpath.toml)", field="admin_token")
    url = server.rstrip("/") + f"/v1/analyses/{urllib.parse.quote(name)}"
    if persons:
        url += "?persons=true"
    if not url.startswith(("http://", "https://")):
        raise ValidationError("give the server as http://host:port", field="--server")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=orjson.dumps(spec), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
            answer: dict[str, Any] = orjson.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        body = orjson.loads(exc.read() or b"{}").get("error", {})
        kind = {400: errors.ValidationError, 401: errors.AuthError,
                404: errors.NotFoundError}.get(exc.code, errors.TouchpathError)
        raise kind(body.get("message", str(exc)), field=body.get("field")) from exc
    except urllib.error.URLError as exc:
        raise errors.StorageError(f"cannot reach {server}: {exc.reason}",
                                  field="--server") from exc


def _cell(value: Any) -> str:
    if value is None or (not isinstance(value, str | list | tuple | dict) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _command(name: str, help_text: str) -> None:
    def command(
        spec: Annotated[str | None, typer.Option(
            help="The spec: a JSON or YAML file, inline JSON, or '-' for standard input.")] = None,
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="Set one spec field: --set window_seconds=86400 (JSON values).")] = None,
        fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
        parquet: Annotated[Path | None, typer.Option(
            help="Run on a Parquet export ('touchpath export') instead of the store.")] = None,
        engine: Annotated[str | None, typer.Option(
            help="duckdb or spark (setting engine). Spark reads --parquet, else the "
                 "spark_events setting; see docs/spark.md.")] = None,
        output: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
        persons: Annotated[bool, typer.Option(
            "--persons", help="With --format json: add the tables that list people.")] = False,
        server: Annotated[str | None, typer.Option(
            help="Ask a running 'touchpath serve' (e.g. http://127.0.0.1:8000) instead of opening "
                 "the store, which the server holds; the token is the admin_token setting.")
        ] = None,
    ) -> None:
        from touchpath.store.spark import open_source, run_timed

        with _errors():
            if fmt not in ("table", "json", "csv"):
                raise ValidationError("use table, json or csv", field="--format")
            data = read_spec(spec, set_ or [])
            chosen = engine or settings().engine
            if chosen not in ("duckdb", "spark"):
                raise ValidationError("use duckdb or spark", field="--engine")
            note = None
            if server is not None:
                answer = _ask_server(server, name, data, persons)
                frame = pd.DataFrame(answer["rows"])
            else:
                if chosen == "spark":
                    with open_source(settings(), engine="spark", events=parquet) as source:
                        timed = run_timed(source, name, data)
                elif parquet is not None:
                    timed = run_timed(_source(parquet), name, data)
                else:
                    with open_store() as store:
                        timed = run_timed(store, name, data)
                result = timed.result
                answer, frame = result.to_dict(persons=persons), result.frame
                note = f"engine: {timed.engine}, {timed.seconds:.2f} s"
            _print(answer, frame, fmt, output)  # type: ignore[arg-type]
            if note is not None:
                # on standard error, so the JSON and CSV on standard output stay pure
                err.print(note, highlight=False)

    command.__doc__ = help_text + " See docs/" + _doc_page(name) + "."
    app.command(name=name)(command)


def _doc_page(name: str) -> str:
    return {"funnel": "funnels.md", "lifecycle": "retention.md"}.get(name, f"{name}.md")


for _analysis in ANALYSES.values():
    _command(_analysis.name, _analysis.help)


@segments_app.command("save")
def segments_save(
    name: Annotated[str, typer.Argument(help="The segment's name.")],
    spec: Annotated[str, typer.Option(help="The segment: a JSON/YAML file or inline JSON, "
                                      "e.g. '{\"kind\": \"behaviour\", \"event\": {\"event\": "
                                      "\"Order Completed\"}, \"min_count\": 2}'.")],
) -> None:
    """Save a segment under a name (use it as {"kind": "saved", "name": ...})."""
    from touchpath.analytics.segments import save_segment, segment_from_dict

    with _errors():
        segment = segment_from_dict(read_spec(spec, []))
        with open_store() as store:
            save_segment(store, name, segment)
    out.print(f"saved segment {name!r}")


@segments_app.command("list")
def segments_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every saved segment and its definition."""
    from touchpath.analytics.codec import to_dict
    from touchpath.analytics.segments import list_segments

    with _errors(), open_store() as store:
        saved = {name: to_dict(s) for name, s in list_segments(store).items()}
    if as_json:
        out.print_json(data=saved)
        return
    for name, definition in saved.items():
        out.print(f"{name}: {orjson.dumps(definition).decode()}", highlight=False)
