"""``touchpath map export|opportunities|opportunity`` on a demo store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from touchpath.cli import app

runner = CliRunner()


@pytest.fixture
def store_path(demo_store_path: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.duckdb"  # the commands write opportunities: not to the shared one
    shutil.copy(demo_store_path, copy)
    return copy


def test_export_html_in_hebrew(store_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    answer = runner.invoke(app, ["--store", str(store_path), "map", "export", str(target),
                                 "--lang", "he"])
    assert answer.exit_code == 0, answer.output
    html = target.read_text(encoding="utf-8")
    assert 'dir="rtl"' in html and "מודעות" in html and "<script" not in html


def test_bad_arguments_name_the_field(store_path: Path, tmp_path: Path) -> None:
    answer = runner.invoke(app, ["--store", str(store_path), "map", "export",
                                 str(tmp_path / "map.docx")])
    assert answer.exit_code == 2 and "file" in answer.output
    answer = runner.invoke(app, ["--store", str(store_path), "map", "export",
                                 str(tmp_path / "map.html"), "--compare", "previous"])
    assert answer.exit_code == 2 and "compare" in answer.output
    answer = runner.invoke(app, ["--store", str(store_path), "map", "opportunity", "x",
                                 "--status", "later"])
    assert answer.exit_code == 2 and "status" in answer.output


def test_opportunities_are_saved_and_listed(store_path: Path) -> None:
    answer = runner.invoke(app, ["--store", str(store_path), "map", "opportunity",
                                 "checkout_abandonment:purchase", "--action", "Cart reminders",
                                 "--owner", "noa", "--status", "in_progress"])
    assert answer.exit_code == 0, answer.output
    listed = runner.invoke(app, ["--store", str(store_path), "map", "opportunities", "--json"])
    assert listed.exit_code == 0
    assert '"Cart reminders"' in listed.stdout and '"in_progress"' in listed.stdout
