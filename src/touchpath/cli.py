"""The ``touchpath`` command line: a thin layer over the Python API.

Every command parses its options, calls the public API and prints the result; a
:class:`~touchpath.errors.TouchpathError` prints its code, field and message and exits with 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from touchpath.collect.importer import import_file
from touchpath.collect.mapping import ImportMapping, load_mapping
from touchpath.config import Settings, load_settings, settings_markdown
from touchpath.errors import TouchpathError
from touchpath.store.duckdb_store import DuckDBStore

app = typer.Typer(
    help="touchpath: customer-journey analytics. Collect every touchpoint, stitch identities, "
    "map the journey.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
identity_app = typer.Typer(help="Inspect the identity graph.", no_args_is_help=True)
app.add_typer(identity_app, name="identity")
keys_app = typer.Typer(help="Write keys of the collector (create, list, revoke). While the "
                       "server runs, use its /v1/admin/keys API instead.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
out = Console()
err = Console(stderr=True)

class _State:
    config: Path | None = None
    store_path: Path | None = None


state = _State()


@app.callback()
def _global(
    config: Annotated[Path | None, typer.Option(help="A touchpath.toml settings file.")] = None,
    store: Annotated[
        Path | None, typer.Option(help="The DuckDB store file (setting store_path).")
    ] = None,
) -> None:
    state.config = config
    state.store_path = store


def settings() -> Settings:
    return load_settings(state.config, store_path=state.store_path)


@contextmanager
def open_store() -> Iterator[DuckDBStore]:
    with DuckDBStore(settings()) as store:
        yield store


def _fail(exc: TouchpathError) -> None:
    where = f" {exc.field}:" if exc.field else ""
    err.print(f"[bold red]error[/] {escape(f'[{exc.code}]{where} {exc.message}')}",
              highlight=False)
    raise typer.Exit(2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except TouchpathError as exc:
        _fail(exc)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True,
    )


@app.command()
def init() -> None:
    """Create the store (or bring an existing one to the latest schema)."""
    with _errors(), open_store() as store:
        out.print(f"store {store.path} ready, schema version {store.schema_version}")


@app.command(name="settings")
def show_settings(
    markdown: Annotated[bool, typer.Option(help="Print the reference as Markdown.")] = False,
) -> None:
    """Print every setting, its current value and what it does."""
    if markdown:
        sys.stdout.write(settings_markdown())
        return
    with _errors():
        table = Table("setting", "value", "meaning", show_lines=False)
        for name, value, doc in settings().describe():
            table.add_row(name, value, doc)
        out.print(table)


@app.command()
def demo(
    size: Annotated[str, typer.Option(help="small (~2k people), medium (~50k), large (~1M people, "
                                      "10M+ events) or a number of people.")] = "small",
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    files: Annotated[Path | None, typer.Option(help="Where to write the offline files (POS, help "
                                               "desk) before importing them.")] = None,
) -> None:
    """Generate the demo business's omnichannel journeys and load them into the store."""
    from touchpath.demo.load import load_demo

    with _errors(), open_store() as store, _progress() as bar:
        task = bar.add_task("demo", total=None)

        def tick(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        report = load_demo(store, size=size, seed=seed, files_dir=files, progress=tick)
    out.print(report)


@app.command(name="import")
def import_(
    file: Annotated[Path, typer.Argument(help="A .csv, .parquet or .jsonl file, or a directory "
                                         "written by 'touchpath export'.")],
    mapping: Annotated[Path | None, typer.Option(help="YAML column mapping (docs/import.md).")]
    = None,
    event: Annotated[str | None, typer.Option(help="Event name for every row.")] = None,
    event_column: Annotated[str | None, typer.Option(help="Column with the event name.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="track (default) or identify.")]
    = None,
    source: Annotated[str | None, typer.Option(help="System the rows come from: pos, helpdesk, "
                                               "crm, ... (classifies the channel).")] = None,
    channel: Annotated[str | None, typer.Option(help="Force a channel for every row.")] = None,
    time_column: Annotated[str | None, typer.Option(help="Column with the time.")] = None,
    time_format: Annotated[str | None, typer.Option(help="strptime layout, e.g. '%d/%m/%Y %H:%M'.")]
    = None,
    timezone: Annotated[str | None, typer.Option(help="Zone of times without an offset "
                                                 "(default UTC).")] = None,
    user_id_column: Annotated[str | None, typer.Option(help="Column with the user id.")] = None,
    anonymous_id_column: Annotated[str | None, typer.Option()] = None,
    email_column: Annotated[str | None, typer.Option(help="Column with an e-mail (hashed).")]
    = None,
    phone_column: Annotated[str | None, typer.Option(help="Column with a phone (hashed).")]
    = None,
    message_id_column: Annotated[str | None, typer.Option(help="Column with a unique row id.")]
    = None,
    revenue_column: Annotated[str | None, typer.Option()] = None,
    currency_column: Annotated[str | None, typer.Option()] = None,
    rejects: Annotated[Path | None, typer.Option(help="Where bad rows go (default "
                                                 "FILE.rejects.csv).")] = None,
    format_: Annotated[str | None, typer.Option("--format", help="csv, parquet or jsonl.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import touchpoints from a file (CRM, POS, help desk), or restore a Parquet export."""
    with _errors(), open_store() as store:
        if file.is_dir():
            counts = store.import_parquet(file)
            if as_json:
                out.print_json(data=counts)
            else:
                out.print(f"restored {counts}")
            return
        base = load_mapping(mapping)
        full: ImportMapping = base.with_flags(
            event=event, type=type_, source=source, channel=channel, time_format=time_format,
            timezone=timezone, event_column=event_column, timestamp_column=time_column,
            user_id_column=user_id_column, anonymous_id_column=anonymous_id_column,
            email_column=email_column, phone_column=phone_column,
            message_id_column=message_id_column, revenue_column=revenue_column,
            currency_column=currency_column,
        )
        with _progress() as bar:
            task = bar.add_task(f"importing {file.name}", total=None)
            summary = import_file(
                store, file, full, rejects=rejects, fmt=format_,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    if as_json:
        out.print_json(data={**summary.__dict__, "rows_per_second": summary.rows_per_second})
        return
    out.print(
        f"{summary.file}: {summary.rows_read:,} rows read, {summary.stored:,} stored, "
        f"{summary.duplicates:,} already stored, {summary.rejected:,} rejected "
        f"({summary.seconds:.1f} s, {summary.rows_per_second:,.0f} rows/s)"
    )
    if summary.rejects_file:
        out.print(f"rejected rows with their line and reason: {summary.rejects_file}")


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="A new directory for the Parquet files.")],
) -> None:
    """Write the whole store as Parquet (events partitioned by date) with a manifest."""
    with _errors(), open_store() as store:
        counts = store.export_parquet(directory)
    out.print(f"exported to {directory}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Events, people, identities and channels in the store."""
    with _errors(), open_store() as store:
        data = store.stats()
    if as_json:
        out.print_json(data=data)
        return
    out.print(f"[bold]{data['store']}[/] (schema {data['schema_version']})")
    out.print(f"{data['events']:,} events, {data['persons']:,} people, "
              f"{data['first_event']} .. {data['last_event']}")
    for title in ("by_channel", "by_type", "by_source", "identities", "merges"):
        table = Table(title.replace("_", " "), "count")
        for key, value in data[title].items():
            table.add_row(key, f"{value:,}")
        out.print(table)


@identity_app.command()
def explain(
    identity: Annotated[str, typer.Argument(help="A user id, anonymous id, e-mail, phone or "
                                            "person id.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Why an identity belongs to its person: keys, merges and refused merges."""
    with _errors(), open_store() as store:
        data = store.explain(identity)
    if as_json:
        out.print_json(data=data)
        return
    for person in data["persons"]:
        out.print(f"[bold]{person['person_id']}[/]: {person['events']:,} events "
                  f"{person['first_event']} .. {person['last_event']}, channels "
                  f"{', '.join(person['channels'])}")
        for key in person["identities"]:
            out.print(f"  {key['kind']:6} {key['value']}  (first seen {key['first_seen']})")
        for merge in person["merges"]:
            out.print(f"  {merge['at']} {merge['outcome']}: {merge['reason']}"
                      f" [message {merge['message_id']}]")


@app.command()
def erase(
    identity: Annotated[str, typer.Argument(help="A user id, anonymous id, e-mail, phone or "
                                            "person id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person (right to be forgotten): every event, identity and log row, everywhere."""
    with _errors(), open_store() as store:
        persons = store.find_persons(identity)
        if not persons:
            err.print(f"no person has the identity {identity!r}; nothing erased")
            raise typer.Exit(1)
        if not yes and not typer.confirm(
            f"erase {len(persons)} person(s) {', '.join(persons)} and all their data?"
        ):
            raise typer.Exit(1)
        result = store.erase(identity)
    out.print(f"erased {', '.join(result.persons)}: "
              + ", ".join(f"{t} {n:,} rows" for t, n in result.rows_deleted.items()))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="What sends with this key: 'website', 'ios app'.")],
    source: Annotated[str | None, typer.Option(help="Source tag of its events (default: the "
                                               "name).")] = None,
    rate: Annotated[float | None, typer.Option(help="Requests per second allowed (default: no "
                                               "limit).")] = None,
) -> None:
    """Create a write key and print it (this is the only time it is shown)."""
    from touchpath.collect.keys import create_key

    with _errors(), open_store() as store:
        secret, key = create_key(store, name, source=source, rate_per_second=rate)
    typer.echo(f"write key {key.key_id} ({key.name}): {secret}")


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List write keys (their ids and names; secrets are stored hashed and cannot be shown)."""
    from touchpath.collect.keys import list_keys

    with _errors(), open_store() as store:
        keys = [key.to_dict() for key in list_keys(store)]
    if as_json:
        out.print_json(data=keys)
        return
    table = Table("key id", "name", "source", "rate/s", "created", "revoked")
    for key in keys:
        table.add_row(key["key_id"], key["name"], key["source"] or "",
                      str(key["rate_per_second"] or ""), key["created_at"], key["revoked_at"] or "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (wk_...).")]) -> None:
    """Revoke a write key: requests with it are refused from now on."""
    from touchpath.collect.keys import revoke_key

    with _errors(), open_store() as store:
        key = revoke_key(store, key_id)
    out.print(f"revoked {key.key_id} ({key.name})")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (setting host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (setting port).")] = None,
    demo_data: Annotated[bool, typer.Option("--demo", help="Load the demo data first if the "
                                            "store is empty.")] = False,
) -> None:
    """Run the server (collector, API, dashboard) on the store; it owns the DuckDB file while
    it runs."""
    from touchpath.web.dashboard.auth import START_HINT, ensure_demo_user
    from touchpath.web.server import run

    with _errors():
        config = load_settings(state.config, store_path=state.store_path, host=host, port=port)
        if demo_data:
            from touchpath.collect.keys import DEMO_KEY, create_key, list_keys
            from touchpath.demo.load import load_demo
            from touchpath.demo.personas import save_personas
            from touchpath.voice.cases import open_past_cases
            from touchpath.voice.catalog import list_surveys, save_survey
            from touchpath.voice.survey import template_surveys

            with DuckDBStore(config) as store:
                if store.stats()["events"] == 0:
                    err.print("loading the demo data (first run only)...")
                    out.print(load_demo(store, size="small", seed=7))
                    save_personas(store)  # saved segments to filter the journey map by
                if not any(k.name == "demo" for k in list_keys(store)):
                    create_key(store, "demo", source="web", key=DEMO_KEY)
                if not list_surveys(store):
                    for survey in template_surveys():
                        save_survey(store, survey)
                        open_past_cases(store, survey)  # the demo's unhappy answers
                ensure_demo_user(store)
            err.print(f"demo write key: {DEMO_KEY}")
            err.print(f"dashboard: http://{config.host}:{config.port}/dashboard "
                      "(account demo / demo); demo shop: "
                      f"http://{config.host}:{config.port}/demo")
        else:
            err.print(START_HINT.format(host=config.host, port=config.port))
        run(config)


# The analysis, survey and dashboard-account commands live in their own modules; importing
# them adds them to ``app``.
from touchpath import (  # noqa: E402, F401
    cli_analyses,
    cli_dashboard,
    cli_journey,
    cli_lake,
    cli_surveys,
)


def main() -> None:
    try:
        app()
    except TouchpathError as exc:  # raised before a command's own handler (settings)
        err.print(f"error [{exc.code}] {exc}", markup=False, highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
