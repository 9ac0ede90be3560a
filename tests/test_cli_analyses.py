"""The analysis commands answer what the Python API answers (same spec, same store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tests.analytics.examples import EXAMPLES, same
from touchpath.analytics.registry import ANALYSES, run_json
from touchpath.cli import app
from touchpath.cli_analyses import read_spec
from touchpath.config import load_settings
from touchpath.errors import ValidationError
from touchpath.store.duckdb_store import DuckDBStore

runner = CliRunner()


def test_every_registered_analysis_has_a_command_and_an_example() -> None:
    listed = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    for name, entry in ANALYSES.items():
        assert f" {name} " in listed and entry.help[:40] in listed, name
    assert set(EXAMPLES) == set(ANALYSES)


def _api(path: Path, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        result: dict[str, Any] = orjson.loads(orjson.dumps(run_json(store, name, spec).to_dict()))
        return result


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_cli_json_and_csv_equal_the_python_api(demo_store_path: Path, tmp_path: Path,
                                                name: str) -> None:
    spec = EXAMPLES[name]
    expected = _api(demo_store_path, name, spec)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    answer = runner.invoke(app, ["--store", str(demo_store_path), name, "--spec",
                                 str(spec_file), "--format", "json"])
    assert answer.exit_code == 0, answer.output
    assert same(json.loads(answer.stdout), expected)
    table = runner.invoke(app, ["--store", str(demo_store_path), name, "--spec", str(spec_file)])
    assert table.exit_code == 0, table.output
    csv = runner.invoke(app, ["--store", str(demo_store_path), name, "--spec", json.dumps(spec),
                              "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.stdout.count("\n") == len(expected["rows"]) + 1


def test_a_bad_spec_names_the_field_and_exits_2(demo_store_path: Path) -> None:
    answer = runner.invoke(app, ["--store", str(demo_store_path), "funnel", "--spec",
                                 '{"steps": [{"event": "Order Completed"}]}'])
    assert answer.exit_code == 2
    assert "steps" in answer.output


def test_set_overrides_fields_with_json_values() -> None:
    spec = read_spec('{"a": 1}', ["b=2", "c=text", 'd=["x"]'])
    assert spec == {"a": 1, "b": 2, "c": "text", "d": ["x"]}
    with pytest.raises(ValidationError) as caught:
        read_spec(None, ["novalue"])
    assert caught.value.field == "--set"
    with pytest.raises(ValidationError, match="no spec file"):
        read_spec("missing.json", [])


def test_segments_save_and_list(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    segment = '{"kind": "behaviour", "event": {"event": "Order Completed"}, "min_count": 2}'
    saved = runner.invoke(app, ["--store", store, "segments", "save", "repeaters",
                                "--spec", segment])
    assert saved.exit_code == 0, saved.output
    listed = runner.invoke(app, ["--store", store, "segments", "list", "--json"])
    assert json.loads(listed.stdout)["repeaters"]["min_count"] == 2
    bad = runner.invoke(app, ["--store", store, "segments", "save", "x", "--spec",
                              '{"kind": "behaviour", "min_count": 2}'])
    assert bad.exit_code == 2 and "event" in bad.output
