# pullguard: `make demo` to try it, `make test` to run everything the tests need.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit verify-demo secret-demo bench bench-cluster bench-audit bench-serve fuzz docs clean system-deps screenshot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pullguard scan examples/ ; status=$$?; \
	  echo "(pullguard exited with $$status: 0 clean; 1 a finding breaks a pull or is at --fail-on; 2 input or usage error)"; \
	  test $$status -le 1

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts fuzz
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -q

# Debian packages the integration tests run (tests/integration): a real registry and skopeo.
# Installed only when missing (CI runs as root on a fresh machine); the package's own
# registry service is stopped: the tests start their own servers on 127.0.0.1.
system-deps:
	@if command -v docker-registry >/dev/null 2>&1 && command -v skopeo >/dev/null 2>&1; then :; else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry skopeo; \
	  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi; \
	  if command -v service >/dev/null 2>&1; then service docker-registry stop >/dev/null 2>&1 || true; fi; \
	fi
	@# promtool and prometheus test the shipped rules and scrape `pullguard serve` (tests/serving); the
	@# package's own service is stopped: the tests start their own server on 127.0.0.1
	@if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then :; else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; \
	  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi; \
	  if command -v service >/dev/null 2>&1; then service prometheus stop >/dev/null 2>&1 || true; fi; \
	fi
	@# kubectl kustomize renders deploy/ (tests/serving/test_deploy.py)
	@if command -v kubectl >/dev/null 2>&1; then :; else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kubectl; \
	fi
	@# headless Chromium renders the HTML report in tests/report/test_html.py and for `make screenshot`
	@if command -v chromium >/dev/null 2>&1; then :; else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
	fi

test: $(STAMP) system-deps lint unit

# `pullguard verify examples/` against real registries on 127.0.0.1 that serve the examples' hosts
# (tests/integration/examples_env.py: started, verified with --connect-to, stopped).
verify-demo: $(STAMP) system-deps
	cd tests && ../$(BIN)/python -m integration.examples_env

# `pullguard secret` create/attach/rotate/refresh against the API-server double and a real registry
# playing registry.example.com: the output shown in README "Managing credentials".
secret-demo: $(STAMP) system-deps
	cd tests && ../$(BIN)/python -m integration.secret_demo

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

bench-cluster: $(STAMP)
	$(BIN)/python benchmarks/cluster_bench.py $(BENCH_ARGS)

# `pullguard audit-log` over a generated 1 GiB audit log in /tmp (plus its gzip with --gzip): time, peak RSS
bench-audit: $(STAMP)
	$(BIN)/python benchmarks/audit_bench.py $(BENCH_ARGS)

# `pullguard serve` at 100,000 pods: time to ready, memory, time to reflect a change
bench-serve: $(STAMP)
	$(BIN)/python benchmarks/serve_bench.py $(BENCH_ARGS)

# Every target on its own, FUZZ_RUNS inputs each; any crash fails the run (its input in fuzz/out/).
FUZZ_RUNS ?= 100000
FUZZ_TARGETS ?= scan_text image_reference docker_config registry_keys cluster_json registry_headers
fuzz: $(STAMP)
	$(BIN)/pip install --quiet -e '.[fuzz]'
	@for target in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/out/corpus-$$target; \
	  echo "== $$target"; \
	  FUZZ_TARGET=$$target $(BIN)/python fuzz/fuzz_pullguard.py -runs=$(FUZZ_RUNS) -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=fuzz/out/$$target- fuzz/out/corpus-$$target fuzz/seeds 2>&1 \
	    | grep -E "^(Done|stat::number_of_executed_units|==[0-9]+== ERROR|.*Uncaught)" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

docs: $(STAMP)
	$(BIN)/python scripts/gen_check_docs.py

# docs/report-example.png: the HTML report of examples/, rendered by headless Chromium.
screenshot: $(STAMP) system-deps
	$(BIN)/python scripts/screenshot_report.py examples/ docs/report-example.png

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
