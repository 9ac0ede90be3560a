"""Where events live: DuckDB by default, behind an engine-neutral contract."""
