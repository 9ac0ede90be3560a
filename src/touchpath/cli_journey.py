"""The journey map commands: ``touchpath map export FILE`` (HTML, PNG or PDF, in English,
Hebrew or Arabic) and ``touchpath map opportunities`` / ``touchpath map opportunity ID``.
The numbers themselves: ``touchpath journey_map`` (generated from the analysis registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from touchpath.cli import _errors, app, open_store, out
from touchpath.errors import ValidationError

map_app = typer.Typer(help="The journey map: export it, and manage its opportunities.",
                      no_args_is_help=True)
app.add_typer(map_app, name="map")


@map_app.command("export")
def map_export(
    file: Annotated[Path, typer.Argument(help="Where to write: .html, .png or .pdf.")],
    lang: Annotated[str, typer.Option("--lang", help="en, he or ar.")] = "en",
    model: Annotated[str, typer.Option(help="The stage model (a template name).")] = "default",
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")] = "",
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD), included.")] = "",
    channel: Annotated[str, typer.Option(help="Only this channel's events.")] = "",
    segment: Annotated[str, typer.Option(help="Only this saved segment (or persona).")] = "",
    compare: Annotated[str, typer.Option(
        help="'previous' (the period before; needs --start and --end) or 'segment'.")] = "",
    segment_b: Annotated[str, typer.Option(help="The segment to compare with.")] = "",
) -> None:
    """Write the journey map as a standalone HTML file (no script, opens offline), or as PNG
    or PDF (printed by the system's Chromium; needs Playwright)."""
    from touchpath.web.dashboard import journey_export
    from touchpath.web.dashboard.i18n import LANGUAGES, Translator
    from touchpath.web.dashboard.journey_page import build_map

    with _errors():
        fmt = file.suffix.lstrip(".").lower()
        if fmt not in journey_export.FORMATS:
            raise ValidationError("the file name ends in .html, .png or .pdf", field="file")
        if lang not in LANGUAGES:
            raise ValidationError(f"one of {', '.join(LANGUAGES)}", field="lang")
        tr = Translator(lang)
        params = {"model": model, "start": start, "end": end, "channel": channel,
                  "segment": segment, "compare": compare, "segment_b": segment_b}
        with open_store() as store:
            view = build_map(store, params, tr)
        body, _ = journey_export.convert(journey_export.standalone_html(tr, view), fmt)
        file.write_bytes(body)
    out.print(f"wrote {escape(str(file))} ({len(body):,} bytes, {lang}, "
              f"{len(view['pains'])} pain points)")


@map_app.command("opportunities")
def map_opportunities(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The saved opportunities (pain points whose action was edited, owned or tracked)."""
    from touchpath.journeymap import saved_opportunities

    with _errors(), open_store() as store:
        frame = saved_opportunities(store)
    if as_json:
        out.print_json(orjson.dumps(frame.to_dict(orient="records"), default=str).decode())
        return
    table = Table("pain point", "action", "owner", "status", "updated")
    for row in frame.to_dict(orient="records"):
        table.add_row(escape(str(row["pain_point_id"])), escape(str(row["action"])),
                      escape(str(row["owner"] or "")), row["status"], str(row["updated_at"]))
    out.print(table)


@map_app.command("opportunity")
def map_opportunity(
    pain_point_id: Annotated[str, typer.Argument(help="The pain point's id (see the map).")],
    action: Annotated[str | None, typer.Option(help="What to do about it.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns it ('' to clear).")] = None,
    status: Annotated[str | None, typer.Option(
        help="open, in_progress, done or dismissed.")] = None,
    note: Annotated[str | None, typer.Option(help="A note ('' to clear).")] = None,
) -> None:
    """Create or change a pain point's opportunity."""
    from touchpath.journeymap import save_opportunity

    with _errors(), open_store() as store:
        saved = save_opportunity(store, pain_point_id, action=action, owner=owner,
                                 status=status, note=note, by="cli")
    out.print(f"saved: {escape(saved['action'])} · {saved['status']}"
              + (f" · @{escape(saved['owner'])}" if saved["owner"] else ""))
