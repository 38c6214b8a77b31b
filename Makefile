# Two commands on a fresh machine: `make repro` and `make test`. Both create .venv when missing and
# install the pinned requirements; stage commands in dvc.yaml run `python` from .venv via PATH.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
HOST ?= 127.0.0.1
PORT ?= 8000

VERSIONS ?= 1 2 3 4 5

.PHONY: help install install-dev repro versions plots lineage test lint typecheck unit bench serve token lock-requirements clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/$$(HOST)/$(HOST)/g' -e 's/$$(PORT)/$(PORT)/g' \
		| awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed  ## create .venv with the pinned runtime requirements

install-dev: $(VENV)/.installed-dev  ## add the pinned test tools

repro: install  ## rebuild data, model, metrics and package with DVC, then print the metrics
	python -m attrition.params params.yaml
	dvc repro
	dvc metrics show

versions: install  ## one experiment per dataset version via DVC's queue, one table: make versions VERSIONS="1 2 3"
	attrition versions $(VERSIONS)

plots: install  ## render every DVC plot to PNG offline into docs/plots (REVS="HEAD~1" to overlay)
	attrition plots --out docs/plots $(REVS)

lineage: install  ## which data, code and params made the workspace's model (REV=<git rev> for another)
	attrition lineage $(if $(REV),--rev $(REV))

test: install-dev lint typecheck  ## lint, type check and the whole test suite
	pytest

lint:  ## ruff lint and format check, and the package's import contract (import-linter, pyproject.toml)
	ruff check src tests bench
	ruff format --check src tests bench
	lint-imports --no-cache

typecheck:  ## mypy on src/
	mypy src

unit: install-dev  ## only the fast unit tests
	pytest -m "not integration"

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
	dvc exp run -S version=$(VERSION)
	@echo "== 3/6 commit the experiment"
	git add -A && git commit -qm "Retrain on dataset version $(VERSION) (make retrain)" && git log --oneline -1
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

# deployment (issue 11)
.PHONY: image image-test

image: install  ## build attrition:<model_version> (package baked in; BASE=..., TOOLS=1 for the jobs image)
	PYTHON=$(BIN)/python deploy/docker/build-image.sh $(if $(BASE),--base $(BASE)) $(if $(TOOLS),--tools)

image-test: install-dev  ## as root: private dockerd + mmdebstrap base; build, run read-only, print the image size
	ATTRITION_IMAGE_TEST=1 pytest tests/deploy/test_image.py
