"""``touchpath surveys`` and ``touchpath cases`` on a real store file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from touchpath.cli import app
from touchpath.voice.survey import TEMPLATES

runner = CliRunner()


def cli(store: Path, *args: str) -> str:
    result = runner.invoke(app, ["--store", str(store), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_surveys_and_cases_from_the_command_line(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    assert "saved survey 'csat-support'" in cli(store, "surveys", "create",
                                                 str(TEMPLATES / "csat-support.yaml"))
    listed = json.loads(cli(store, "surveys", "list", "--json"))
    assert [s["id"] for s in listed] == ["csat-support"]
    shown = json.loads(cli(store, "surveys", "show", "csat-support", "--language", "ar"))
    assert shown["dir"] == "rtl" and shown["questions"][0]["max"] == 5
    assert "paused" in cli(store, "surveys", "pause", "csat-support")
    link = cli(store, "surveys", "link", "csat-support", "--user-id", "u1").strip()
    assert link.startswith("http://127.0.0.1:8000/s/")
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"user_id": "u1", "score": 1, "comment": "slow"}\n'
                       '{"user_id": "u2", "score": 7}\n', encoding="utf-8")
    result = runner.invoke(app, ["--store", str(store), "surveys", "import", "csat-support",
                                 str(answers)])
    assert "stored 1 answers, rejected 1, opened 1 cases" in result.stdout
    assert "line 2: answers.csat" in result.stdout
    cases = json.loads(cli(store, "cases", "list", "--json"))
    assert len(cases) == 1 and cases[0]["status"] == "open"
    refused = runner.invoke(app, ["--store", str(store), "cases", "update", cases[0]["case_id"],
                                  "--status", "closed"])
    assert refused.exit_code != 0 and "root_cause" in refused.output
    cli(store, "cases", "update", cases[0]["case_id"], "--status", "closed",
        "--root-cause", "staffing")
    assert json.loads(cli(store, "cases", "recovery"))["closed"] == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: X\nquestions: []\n", encoding="utf-8")
    refused = runner.invoke(app, ["--store", str(store), "surveys", "create", str(bad)])
    assert refused.exit_code != 0 and "questions" in refused.output
