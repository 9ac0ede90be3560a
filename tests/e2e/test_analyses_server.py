"""A real server holds the store; the CLI asks it (--server) and answers what the API answers."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.realserver import ADMIN_TOKEN, start_server
from touchpath.cli import app
from touchpath.config import load_settings
from touchpath.demo.load import load_demo
from touchpath.store.duckdb_store import DuckDBStore

FUNNEL = {"steps": [{"event": "Product Viewed"}, {"event": "Order Completed"}]}


def test_the_cli_asks_a_running_server(tmp_path: Path) -> None:
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "e2e.duckdb")) as store:
        load_demo(store, size="300", seed=5)
    server = start_server(tmp_path)
    try:
        direct = server.admin("POST", "/v1/analyses/funnel", json=FUNNEL)
        assert direct.status_code == 200, direct.text
        runner = CliRunner()
        env = {"TOUCHPATH_ADMIN_TOKEN": ADMIN_TOKEN}
        answer = runner.invoke(app, ["funnel", "--spec", json.dumps(FUNNEL), "--format", "json",
                                     "--server", server.url], env=env)
        assert answer.exit_code == 0, answer.output
        assert json.loads(answer.stdout) == direct.json()
        assert direct.json()["summary"]["entered"] > 0
        bad = runner.invoke(app, ["funnel", "--spec", '{"steps": []}', "--server", server.url],
                            env=env)
        assert bad.exit_code == 2 and "steps" in bad.output
        wrong = runner.invoke(app, ["funnel", "--spec", json.dumps(FUNNEL), "--server",
                                    server.url], env={"TOUCHPATH_ADMIN_TOKEN": "wrong"})
        assert wrong.exit_code == 2 and "unauthorized" in wrong.output
    finally:
        assert server.stop() == 0
