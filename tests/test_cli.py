"""The command line, run in a real subprocess-free Typer runner over a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from touchpath.cli import app

runner = CliRunner()


def invoke(store: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--store", str(store), *args], input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def pos_csv(tmp_path: Path) -> Path:
    path = tmp_path / "pos.csv"
    path.write_text(
        "receipt,email,at,total\n"
        "r1,erase-me-8c1f@example.com,2024-05-01 10:00,10\n"
        "r2,other@example.com,2024-05-01 11:00,abc\n"
        "r3,other@example.com,2024-05-02 11:00,5\n"
    )
    return path


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "settings", "demo", "import", "export", "stats", "identity",
                    "erase", "serve"):
        assert command in result.stdout


def test_import_stats_explain_erase(tmp_path: Path, pos_csv: Path) -> None:
    store = tmp_path / "s.duckdb"
    code, out, _ = invoke(store, "import", str(pos_csv), "--event", "Order Completed",
                          "--source", "pos", "--time-column", "at", "--email-column", "email",
                          "--message-id-column", "receipt", "--revenue-column", "total",
                          "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert (summary["stored"], summary["rejected"]) == (2, 1)
    assert Path(summary["rejects_file"]).exists()

    code, out, _ = invoke(store, "stats", "--json")
    assert code == 0 and json.loads(out)["events"] == 2

    code, out, _ = invoke(store, "identity", "explain", "erase-me-8c1f@example.com", "--json")
    assert code == 0 and json.loads(out)["persons"][0]["events"] == 1

    code, out, _ = invoke(store, "erase", "erase-me-8c1f@example.com", input="n\n")
    assert code == 1
    code, out, _ = invoke(store, "erase", "erase-me-8c1f@example.com", "--yes")
    assert code == 0, out
    code, out, _ = invoke(store, "stats", "--json")
    assert json.loads(out)["events"] == 1


def test_errors_name_the_field_and_exit_2(tmp_path: Path, pos_csv: Path) -> None:
    store = tmp_path / "s.duckdb"
    code, _, err = invoke(store, "import", str(pos_csv), "--event", "E",
                          "--time-column", "when", "--email-column", "email")
    assert code == 2
    assert "columns.timestamp" in err and "'when'" in err

    result = runner.invoke(app, ["--store", str(store), "stats"],
                           env={"TOUCHPATH_IP_MODE": "scramble"})
    assert result.exit_code == 2
    assert "ip_mode" in result.stderr


def test_export_and_restore(tmp_path: Path, pos_csv: Path) -> None:
    store = tmp_path / "s.duckdb"
    invoke(store, "import", str(pos_csv), "--event", "E", "--time-column", "at",
           "--email-column", "email")
    code, out, _ = invoke(store, "export", str(tmp_path / "lake"))
    assert code == 0, out
    copy = tmp_path / "copy.duckdb"
    code, out, _ = invoke(copy, "import", str(tmp_path / "lake"))
    assert code == 0, out
    _, original, _ = invoke(store, "stats", "--json")
    _, restored, _ = invoke(copy, "stats", "--json")
    strip = {"store"}
    assert {k: v for k, v in json.loads(original).items() if k not in strip} == {
        k: v for k, v in json.loads(restored).items() if k not in strip}


def test_settings_markdown() -> None:
    result = runner.invoke(app, ["settings", "--markdown"])
    assert result.exit_code == 0 and "| `store_path` |" in result.stdout
