"""The demo's personas (saved segments) and what the journey map shows per persona: the planted
behaviours (docs/demo-data.md) — e-mail visitors reach a purchase more often than social
visitors (#1), and people who opened a support ticket are unhappier in Retention (#3)."""

from __future__ import annotations

import shutil
from pathlib import Path

from touchpath.analytics.registry import run_json
from touchpath.analytics.segments import list_segments
from touchpath.config import load_settings
from touchpath.demo.personas import PERSONAS, save_personas
from touchpath.journeymap import JourneyMapResult
from touchpath.store.duckdb_store import DuckDBStore


def _map(store: DuckDBStore, persona: str | None) -> JourneyMapResult:
    filters = {"segments": [{"kind": "saved", "name": persona}]} if persona else {}
    result = run_json(store, "journey_map", {"filters": filters})
    assert isinstance(result, JourneyMapResult)
    return result


def _kpi(result: JourneyMapResult, stage: str, column: str) -> float:
    return float(result.frame.set_index("stage").loc[stage, column])


def test_personas_show_the_planted_behaviours(demo_store_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_store_path, path)
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        assert save_personas(store) == len(PERSONAS)
        assert set(PERSONAS) <= set(list_segments(store))
        email = _map(store, "Persona: newsletter readers")
        social = _map(store, "Persona: social scrollers")
        assert _kpi(email, "consideration", "conversion") > \
            1.2 * _kpi(social, "consideration", "conversion")
        everyone = _map(store, None)
        support = _map(store, "Persona: support callers")
        assert _kpi(support, "retention", "emotion") < _kpi(everyone, "retention", "emotion")
        assert support.summary["people"] < everyone.summary["people"]
