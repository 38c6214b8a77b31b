# Two commands on a fresh machine: `make repro` and `make test`. Both create .venv when missing and
# install the pinned requirements; stage commands in dvc.yaml run `python` from .venv via PATH.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
HOST ?= 127.0.0.1
PORT ?= 8000

VERSIONS ?= 1 2 3 4 5

.PHONY: help install install-dev repro versions plots lineage test bytecode lint typecheck unit bench serve token lock-requirements clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/$$(HOST)/$(HOST)/g' -e 's/$$(PORT)/$(PORT)/g' \
		| awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# The test tools, with uv (pinned in requirements-dev.txt, bootstrapped by pip). requirements-dev.txt pins
# their whole closure (it starts with `-r requirements.txt`, whose `-e .` would build the project again for
# nothing), so they go in with --no-deps, and `uv pip check` proves the closure complete (0.04 s; pip check
# took 1.0 s); the runtime pins are constraints, so a test tool pinned against one is refused. On a new
# venv, side by side: uv 7.4 s with a cold cache (5.0 s warm), pip 30.0 s, the same pip freeze.
DEV_PINS := $(VENV)/test-tool-pins.txt
UV := $(BIN)/uv

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt requirements.txt
	grep -v '^-e ' requirements.txt > $(VENV)/runtime-pins.txt
	grep -v '^-r ' requirements-dev.txt > $(DEV_PINS)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $$(grep '^uv==' $(DEV_PINS))
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --compile-bytecode \
		-r $(DEV_PINS) -c $(VENV)/runtime-pins.txt
	$(UV) pip check --python $(BIN)/python
	@touch $@

install: $(VENV)/.installed  ## create .venv with the pinned runtime requirements

install-dev: $(VENV)/.installed-dev  ## add the pinned test tools

# `attrition warm` forks each stage from one interpreter that has imported the stages' libraries;
# plain `dvc repro` builds the same bytes with an interpreter start and imports per stage.
repro: install  ## rebuild data, model, metrics and package with DVC, then print the metrics
	python -m attrition.params params.yaml
	attrition warm -- dvc repro
	dvc metrics show

versions: install  ## one experiment per dataset version via DVC's queue, one table: make versions VERSIONS="1 2 3"
	attrition versions $(VERSIONS)

plots: install  ## render every DVC plot to PNG offline into docs/plots (REVS="HEAD~1" to overlay)
	attrition plots --out docs/plots $(REVS)

lineage: install  ## which data, code and params made the workspace's model (REV=<git rev> for another)
	attrition lineage $(if $(REV),--rev $(REV))

# pytest-xdist: PYTEST_WORKERS processes, one more than the cores: about a seventh of the suite's time
# waits (servers starting, Alertmanager's group wait, slowloris timeouts, fsync) with a core idle, and a
# third worker on 2 cores fills it. Side by side, whole suite, 2026-12-04: 2 workers 276 s and 277 s,
# 3 workers 251 s and 251 s, 4 workers 263 s. --dist loadscope keeps a module's tests on
# one worker, so a module fixture (a DVC build, a registry) is built once; modules are handed out in the
# collection order tests/conftest.py sets (the longest first), not by their number of tests.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
XDIST := -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder

# The test tools and the bytecode first; then mypy and ruff run beside pytest, not before it. On a fresh
# clone, one after the other: the test tools 9.4 s, mypy 10.3 s (one core), ruff, format check and the import
# contract 0.3 s, the bytecode 0.3 s. Before pytest they held its start for mypy's 10 s while one core
# idled; beside it they fill the suite's idle moments (about 70 core-seconds per run: servers starting,
# alerts waiting for their group interval). A failure in either still fails `make test` once pytest ends.
# checkov's venv (uv, 4 s) is installed by tests/deploy/test_checkov.py when missing or stale.
test:  ## lint, type check and the whole test suite (tiers: unit dvc postgres e2e system)
	@$(MAKE) --no-print-directory install-dev
	@$(MAKE) --no-print-directory -j3 --output-sync=line typecheck lint pytest-all

.PHONY: pytest-all
pytest-all: install-dev bytecode
	pytest $(XDIST) --durations=15

# The suite starts about 400 Python processes (stages, DVC, the CLI, servers). Where PYTHONDONTWRITEBYTECODE
# is set (this machine's image sets it) none of them caches the bytecode of src/ and tests/, so each one
# compiles what it imports again; compiled once here, every process loads it (user+sys of the whole
# suite 630 s -> 601 s, measured side by side). __pycache__ is git-ignored and no DVC dep.
bytecode: install
	python -m compileall -q src tests

lint: install-dev  ## ruff lint and format check, and the package's import contract (import-linter, pyproject.toml)
	ruff check src tests bench
	ruff format --check src tests bench
	lint-imports --no-cache

typecheck: install-dev  ## mypy on src/
	mypy src

unit: install-dev bytecode  ## only the fast unit tests (no DVC build, database server, served process or system tool)
	pytest $(XDIST) -m unit

.PHONY: test-dvc test-postgres test-e2e test-system test-security
test-dvc: install-dev bytecode  ## one tier only (also test-postgres, test-e2e, test-system, test-security; markers in pyproject.toml)
	pytest $(XDIST) -m dvc

test-postgres test-e2e test-system test-security: install-dev bytecode
	pytest $(XDIST) -m $(@:test-%=%)

bench: install-dev  ## benchmark scripts (pipeline speed, model quality, service)
	python bench/bench_pipeline.py
	-python bench/bench_model_quality.py  # exits 1 while a version misses a target; the rest still run
	python bench/bench_service.py --package models/attrition-model

serve: install  ## serve the packaged model on $(HOST):$(PORT); without ATTRITION_JWT_SECRET(_FILE), a dev secret in .attrition/
	attrition serve --dev --package models/attrition-model --scores data/batch_scores.csv --host $(HOST) --port $(PORT)

token: install  ## mint a 1-hour development token with the predict scope (same secret as make serve)
	@attrition token --sub $${USER:-developer} --scope attrition:predict --ttl 3600

lock-requirements:  ## re-pin requirements.txt from a clean venv (needs the package registry)
	rm -rf /tmp/attrition-lock && $(PYTHON) -m venv /tmp/attrition-lock
	/tmp/attrition-lock/bin/pip install --quiet . && /tmp/attrition-lock/bin/pip freeze --exclude-editable | grep -v '^attrition' > /tmp/attrition-lock.txt
	@echo "review /tmp/attrition-lock.txt and copy it into requirements.txt (keep the '-e .' line)"

clean:  ## remove caches (not .venv, not DVC outputs)
	rm -rf .pytest_cache .mypy_cache .ruff_cache

# registry (issue 9)
VERSION ?=

.PHONY: retrain
retrain: install  ## weekly flow for dataset VERSION=N: experiment, branch+commit, push, propose, gate, promote
	@case "$(VERSION)" in ''|*[!0-9]*|0) echo "error: VERSION=$(VERSION); give a positive dataset version, e.g. make retrain VERSION=4" >&2; exit 2;; esac
	@git diff --quiet HEAD || { echo "error: uncommitted changes; commit or stash them before retraining" >&2; exit 2; }
	@echo "== 1/6 branch retrain/v$(VERSION) from $$(git rev-parse --short HEAD)"
	git checkout -b retrain/v$(VERSION)
	@echo "== 2/6 candidate experiment on dataset version $(VERSION)"
	attrition warm -- dvc exp run -S version=$(VERSION)
	@echo "== 3/6 commit the experiment"
	@$(MAKE) --no-print-directory retrain-commit VERSION=$(VERSION)
	@echo "== 4/6 push code and outputs"
	@if git remote | grep -qx origin; then git push -q -u origin retrain/v$(VERSION); else echo "no origin: git push skipped"; fi
	dvc push
	@echo "== 5/6 propose"
	attrition registry propose
	@echo "== 6/6 gate against prod and promote"
	@rc=0; attrition registry promote --out gate-v$(VERSION).json || rc=$$?; \
	case $$rc in \
	  0) echo "== retrain: promoted; run 'attrition deploy --stage prod --to DIR' to serve it";; \
	  1|3) echo "== retrain: candidate left in staging (gate exit $$rc; gate-v$(VERSION).json says why)";; \
	  *) exit $$rc;; \
	esac

# What an experiment changes, and all that retrain commits: its parameters, the lock, the git-tracked
# metrics and plot data, and the entries DVC adds to the output folders' .gitignore for a new dataset
# version. Never `git add -A`: files lying in the work tree (a token, outcomes, monitor output) stay out.
RETRAIN_FILES := params.yaml dvc.lock metrics data/.gitignore models/.gitignore

.PHONY: retrain-commit
retrain-commit:  ## step 3 of retrain: commit exactly $(RETRAIN_FILES), refuse if the experiment changed more
	@case "$(VERSION)" in ''|*[!0-9]*|0) echo "error: VERSION=$(VERSION); give the dataset version retrained" >&2; exit 2;; esac
	git add -- $(RETRAIN_FILES)
	git commit -qm "Retrain on dataset version $(VERSION) (make retrain)" -- $(RETRAIN_FILES)
	@git log --oneline -1 && git show --name-only --format= HEAD
	@git diff --quiet HEAD || { echo "error: tracked files changed outside $(RETRAIN_FILES):" >&2; \
		git status --short --untracked-files=no >&2; exit 1; }

# the README's walkthroughs (issue 19): prysk transcripts in docs/walkthroughs/, run on a fresh clone of HEAD
WALKTHROUGHS ?=

.PHONY: walkthroughs walkthroughs-accept readme
walkthroughs: install-dev  ## run the README's walkthroughs on a fresh clone of HEAD (slow tier; .ci/run runs it)
	ATTRITION_WALKTHROUGHS=1 pytest -n auto --dist load tests/walkthroughs/test_walkthroughs.py

walkthroughs-accept: install-dev  ## rerun them and take the new output into docs/walkthroughs/*.t, then make readme
	python -m tests.walkthroughs.run --accept $(WALKTHROUGHS)
	python -m tests.walkthroughs.readme --write

readme:  ## render README.md's walkthrough blocks from docs/walkthroughs/*.t
	python -m tests.walkthroughs.readme --write

# deployment (issue 11)
.PHONY: image image-test

image: install  ## build attrition:<model_version> (package baked in; BASE=..., TOOLS=1 for the jobs image)
	PYTHON=$(BIN)/python deploy/docker/build-image.sh $(if $(BASE),--base $(BASE)) $(if $(TOOLS),--tools)

image-test: install-dev  ## as root: private dockerd + mmdebstrap base; build, run read-only, print the image size
	ATTRITION_IMAGE_TEST=1 pytest tests/deploy/test_image.py

# checkov (issue 11) pins older boto3, networkx and packaging than the project: its own venv, as Airflow's.
# tests/deploy/test_checkov.py runs `make checkov-install` itself when the venv is missing or stale.
CHECKOV_VENV := build/checkov-venv
CHECKOV_LOCK := tests/deploy/requirements-checkov.txt

.PHONY: checkov-install
$(CHECKOV_VENV)/.installed: $(CHECKOV_LOCK) $(VENV)/.installed-dev
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python --no-deps --compile-bytecode -r $(CHECKOV_LOCK)
	@touch $@

checkov-install: $(CHECKOV_VENV)/.installed  ## checkov in build/checkov-venv from its pinned lock tests/deploy/requirements-checkov.txt

# scheduling (issue 23): the plan's Airflow flows, deploy/airflow/dags/attrition_flows.py. Airflow gets
# its own venv from its pinned lock (apache-airflow-core pins fastapi<0.137, the service 0.165); the
# DAGs never import attrition, they run its CLI. Not part of `make test`: tests/orchestration skips
# unless ATTRITION_AIRFLOW_TEST=1, which only this target sets.
AIRFLOW_VERSION := 3.3.2
AIRFLOW_VENV := build/airflow-venv
AIRFLOW_LOCK := deploy/airflow/requirements-airflow.txt

.PHONY: airflow-install airflow-lint airflow-test airflow-lock
$(AIRFLOW_VENV)/.installed: $(AIRFLOW_LOCK)
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(AIRFLOW_LOCK)
	@touch $@

airflow-install: $(AIRFLOW_VENV)/.installed  ## Airflow 3.3.2 in build/airflow-venv from its pinned lock deploy/airflow/requirements-airflow.txt

airflow-lint: install-dev airflow-install  ## ruff on the DAG file and its tests; mypy --strict against Airflow's own types
	ruff check deploy/airflow tests/orchestration
	ruff format --check deploy/airflow tests/orchestration
	mypy --strict --python-executable $(AIRFLOW_VENV)/bin/python deploy/airflow/dags

airflow-test: airflow-lint  ## the DAGs: DagBag check, then `airflow dags test` of both flows on a temp repo
	ATTRITION_AIRFLOW_TEST=1 ATTRITION_AIRFLOW_VENV=$(CURDIR)/$(AIRFLOW_VENV) pytest -s --durations=0 tests/orchestration

airflow-lock:  ## re-pin Airflow's lock from a clean venv (needs the package registry)
	rm -rf /tmp/attrition-airflow-lock && $(PYTHON) -m venv /tmp/attrition-airflow-lock
	/tmp/attrition-airflow-lock/bin/pip install --quiet apache-airflow==$(AIRFLOW_VERSION)
	{ sed -n '/^#/p' $(AIRFLOW_LOCK); /tmp/attrition-airflow-lock/bin/pip freeze; } > /tmp/attrition-airflow-lock.txt
	@echo "review /tmp/attrition-airflow-lock.txt and copy it into $(AIRFLOW_LOCK)"
