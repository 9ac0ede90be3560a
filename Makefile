# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Browser tests drive Debian's chromium with Playwright (never `playwright install`: it downloads).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test chromium java lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Install, load the demo data into ./touchpath.duckdb (first run) and serve on 127.0.0.1:8000
run: $(STAMP)
	$(BIN)/touchpath serve --demo

## Install, then lint, type-check and run the whole test suite (browser and Spark tests included)
test: $(STAMP) chromium java lint typecheck
	REQUIRE_BROWSER_TESTS=1 REQUIRE_SPARK_TESTS=1 $(BIN)/pytest

chromium:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq chromium)

# Spark (local mode, for the Spark conformance suite) runs on the machine's Java 17.
java:
	@command -v java >/dev/null || ($(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq openjdk-17-jre-headless)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

## Benchmarks (not part of the test suite): see benchmarks/README.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
