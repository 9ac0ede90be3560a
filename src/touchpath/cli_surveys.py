"""The survey commands: ``touchpath surveys create|list|show|pause|resume|link|import`` and
``touchpath cases list|update|recovery``. Thin: each calls :mod:`touchpath.voice`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from touchpath.cli import _errors, app, open_store, out

surveys_app = typer.Typer(help="Surveys (NPS, CSAT, CES): define, target, link, import answers.",
                          no_args_is_help=True)
app.add_typer(surveys_app, name="surveys")
cases_app = typer.Typer(help="Follow-up cases opened by unhappy answers (the closed loop).",
                        no_args_is_help=True)
app.add_typer(cases_app, name="cases")


@surveys_app.command("create")
def surveys_create(
    file: Annotated[Path, typer.Argument(help="The survey as YAML or JSON (docs/surveys.md).")],
) -> None:
    """Create or replace a survey from a file; it shows from now on (unless active: false)."""
    from touchpath.voice.catalog import save_survey
    from touchpath.voice.survey import load_survey_file

    with _errors():
        survey = load_survey_file(file)
        with open_store() as store:
            save_survey(store, survey)
    out.print(f"saved survey {survey.id!r} ({len(survey.questions)} questions, languages "
              f"{', '.join(survey.languages)})")


@surveys_app.command("list")
def surveys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every survey: id, name, scored question, triggers, active."""
    from touchpath.analytics.codec import to_dict
    from touchpath.voice.catalog import list_surveys

    with _errors(), open_store() as store:
        surveys = list_surveys(store)
    if as_json:
        out.print_json(data=[to_dict(s) for s in surveys])
        return
    table = Table("id", "name", "scored", "triggers", "languages", "active")
    for s in surveys:
        scored = s.scored_question
        triggers = ", ".join(t.event or f"stage {t.stage}" for t in s.targeting.triggers)
        table.add_row(s.id, s.name, scored.type if scored else "", triggers or "any page",
                      ", ".join(s.languages), "yes" if s.active else "paused")
    out.print(table)


@surveys_app.command("show")
def surveys_show(
    survey_id: Annotated[str, typer.Argument(help="The survey id.")],
    language: Annotated[str | None, typer.Option(help="Show it as the widget would, in "
                                                 "this language.")] = None,
) -> None:
    """A survey's definition (or, with --language, what the widget shows)."""
    from touchpath.analytics.codec import to_dict
    from touchpath.voice.catalog import load_survey
    from touchpath.voice.survey import localized

    with _errors(), open_store() as store:
        survey = load_survey(store, survey_id)
    out.print_json(data=localized(survey, language) if language else to_dict(survey))


def _set_active(survey_id: str, active: bool) -> None:
    from touchpath.voice.catalog import set_active

    with _errors(), open_store() as store:
        set_active(store, survey_id, active)
    out.print(f"survey {survey_id!r} {'resumed' if active else 'paused'}")


@surveys_app.command("pause")
def surveys_pause(survey_id: Annotated[str, typer.Argument(help="The survey id.")]) -> None:
    """Stop showing a survey (answers already given stay)."""
    _set_active(survey_id, False)


@surveys_app.command("resume")
def surveys_resume(survey_id: Annotated[str, typer.Argument(help="The survey id.")]) -> None:
    """Show a paused survey again."""
    _set_active(survey_id, True)


@surveys_app.command("link")
def surveys_link(
    survey_id: Annotated[str, typer.Argument(help="The survey id.")],
    user_id: Annotated[str | None, typer.Option(help="The person's user id.")] = None,
    anonymous_id: Annotated[str | None, typer.Option(help="Or their anonymous id.")] = None,
    touchpoint: Annotated[str | None, typer.Option(help="What the survey is about, e.g. "
                                                   "'delivery'.")] = None,
    language: Annotated[str | None, typer.Option(help="en, he, ar...")] = None,
    days: Annotated[int, typer.Option(help="How long the link stays valid.")] = 30,
    base_url: Annotated[str, typer.Option(help="The server's public address.")] =
        "http://127.0.0.1:8000",
) -> None:
    """A signed survey link for one person, to send by e-mail or SMS."""
    from touchpath.voice.catalog import load_survey
    from touchpath.voice.links import make_token, survey_secret

    with _errors(), open_store() as store:
        load_survey(store, survey_id)
        token = make_token(survey_secret(store), survey_id, user_id=user_id,
                           anonymous_id=anonymous_id, touchpoint=touchpoint, language=language,
                           valid_days=days)
    out.print(f"{base_url.rstrip('/')}/s/{token}", highlight=False, soft_wrap=True)


@surveys_app.command("import")
def surveys_import(
    survey_id: Annotated[str, typer.Argument(help="The survey the answers belong to.")],
    file: Annotated[Path, typer.Argument(help="CSV, JSON lines or Parquet: user_id / "
                                         "anonymous_id / email, score, comment, timestamp, "
                                         "language, touchpoint, stage, answer.<id>.")],
) -> None:
    """Import answers from another survey tool or a call centre (bad rows are reported and
    skipped; the good ones are stored and pass through the closed loop)."""
    from touchpath.voice.catalog import load_survey
    from touchpath.voice.record import import_answers

    with _errors(), open_store() as store:
        report = import_answers(store, load_survey(store, survey_id), file)
    out.print(f"stored {report.stored} answers, rejected {len(report.rejected)}, "
              f"opened {report.cases} cases")
    for problem in report.rejected[:20]:
        out.print(f"  line {problem['line']}: {problem['field']}: {problem['message']}",
                  highlight=False)
    if report.rejected and not report.stored:
        raise typer.Exit(1)


@cases_app.command("list")
def cases_list(
    status: Annotated[str | None, typer.Option(help="open, in_progress or closed.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Follow-up cases, newest first."""
    from touchpath.voice.cases import list_cases

    with _errors(), open_store() as store:
        frame = list_cases(store, status)
    if as_json:
        out.print_json(orjson.dumps(frame.to_dict(orient="records"), default=str).decode())
        return
    table = Table("case", "survey", "rule", "score", "owner", "status", "due", "overdue")
    for row in frame.itertuples():
        table.add_row(row.case_id, row.survey_id, row.rule,
                      "" if row.score != row.score else f"{row.score:g}", row.owner or "",
                      row.status, str(row.due_at)[:16], "yes" if row.overdue else "")
    out.print(table)


@cases_app.command("update")
def cases_update(
    case_id: Annotated[str, typer.Argument(help="The case id (case-...).")],
    status: Annotated[str | None, typer.Option(help="open, in_progress or closed.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who follows it up.")] = None,
    root_cause: Annotated[str | None, typer.Option(help="Why it happened (needed to "
                                                   "close).")] = None,
) -> None:
    """Assign, progress or close a case."""
    from touchpath.voice.cases import update_case

    with _errors(), open_store() as store:
        case = update_case(store, case_id, status=status, owner=owner, root_cause=root_cause)
    out.print(f"{case['case_id']}: {case['status']}, owner {case['owner'] or '-'}")


@cases_app.command("backfill")
def cases_backfill(
    survey_id: Annotated[str, typer.Argument(help="The survey whose rules to apply.")],
) -> None:
    """Apply a survey's case rules to the answers already stored (no webhooks are posted)."""
    from touchpath.voice.cases import open_past_cases
    from touchpath.voice.catalog import load_survey

    with _errors(), open_store() as store:
        opened = open_past_cases(store, load_survey(store, survey_id))
    out.print(f"opened {opened} cases")


@cases_app.command("recovery")
def cases_recovery() -> None:
    """How many people with a case answered again, and how many recovered."""
    from touchpath.voice.cases import recovery_rate

    with _errors(), open_store() as store:
        out.print_json(data=recovery_rate(store))
