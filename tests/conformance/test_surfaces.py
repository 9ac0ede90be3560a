"""The CLI and the REST API run an analysis on the configured engine and say which answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.analytics.examples import EXAMPLES
from touchpath.analytics.registry import run_json
from touchpath.analytics.source import TableSource
from touchpath.cli import app
from touchpath.config import load_settings
from touchpath.web.app import create_app

from .test_conformance import pytestmark as spark_warnings

pytestmark = spark_warnings
SPEC = {"steps": EXAMPLES["funnel"]["steps"][:2], "window_seconds": 86400}


def test_cli_runs_a_funnel_on_spark_over_an_export(spark: Any, exports: dict[str, Path],
                                                   tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--store", str(tmp_path / "unused.duckdb"), "funnel", "--spec", json.dumps(SPEC),
            "--format", "json", "--parquet", str(exports["small"])]
    on_duckdb = runner.invoke(app, base)
    on_spark = runner.invoke(app, [*base, "--engine", "spark"])
    assert on_duckdb.exit_code == 0, on_duckdb.output
    assert on_spark.exit_code == 0, on_spark.output
    assert json.loads(on_spark.stdout) == json.loads(on_duckdb.stdout)
    assert "engine: spark," in on_spark.stderr and "engine: duckdb," in on_duckdb.stderr
    wrong = runner.invoke(app, [*base, "--engine", "oracle"])
    assert wrong.exit_code == 2 and "--engine" in wrong.stderr


def test_rest_answers_from_spark_when_configured(spark: Any, exports: dict[str, Path],
                                                 tmp_path: Path) -> None:
    settings = load_settings(env={}, store_path=tmp_path / "server.duckdb", engine="spark",
                             spark_events=str(exports["small"]))
    token = "conformance-token"
    with TestClient(create_app(settings, admin_token=token)) as client:
        answer = client.post("/v1/analyses/funnel", json=SPEC,
                             headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Touchpath-Engine"] == "spark"
    assert float(answer.headers["X-Touchpath-Seconds"]) > 0
    expected = run_json(TableSource.from_parquet(exports["small"]), "funnel", SPEC)
    assert answer.json()["summary"] == json.loads(json.dumps(expected.to_dict()["summary"]))
    assert answer.json()["summary"]["entered"] > 0
