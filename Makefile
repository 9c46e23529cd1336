# pullguard: `make demo` to try it, `make test` to run everything the tests need.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit bench fuzz docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pullguard scan examples/ ; status=$$?; \
	  echo "(pullguard exited with $$status: 0 clean, 1 findings, 2 input or usage error)"; \
	  test $$status -le 1

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts fuzz
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: $(STAMP) lint unit

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

FUZZ_RUNS ?= 100000
fuzz: $(STAMP)
	$(BIN)/pip install --quiet -e '.[fuzz]'
	mkdir -p fuzz/out/corpus
	$(BIN)/python fuzz/fuzz_pullguard.py -runs=$(FUZZ_RUNS) -max_len=4096 -print_final_stats=1 -artifact_prefix=fuzz/out/ \
	  fuzz/out/corpus fuzz/seeds 2>&1 | grep -E "^(Done|stat::number_of_executed_units|==[0-9]+== ERROR|.*Uncaught)" ; \
	  test $${PIPESTATUS[0]} -eq 0

docs: $(STAMP)
	$(BIN)/python scripts/gen_check_docs.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
