# The two quick-start commands are `make demo` and `make test`. Both need only python3 (with its
# venv module) and make: they create a project virtual env in .venv and install into it, so they
# work where the system Python refuses pip installs (PEP 668, "externally-managed-environment").
# VENV=/path/to/an/existing/env installs into (and runs from) that environment instead.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed on its own first so that the pin wins over the extras' torch>=2.1. On a
# machine without a GPU, TORCH_INDEX=https://download.pytorch.org/whl/cpu fetches the CPU build
# instead of PyPI's default one, which brings about 17 CUDA packages (several GiB).
TORCH := torch==2.13.0
TORCH_INDEX ?=
TORCH_PIP_ARGS := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
# Serial BLAS: tests and benchmarks run many small eigendecompositions on few cores.
export OMP_NUM_THREADS ?= 1

.PHONY: install install-test demo test test-all test-slow lint typecheck bench-quick bench-full bench-sdp \
	clean distclean

# A failed `python3 -m venv` (Debian without python3-venv) leaves a venv without pip behind;
# removing it makes the next attempt start over instead of failing on the missing pip. Only a
# folder this rule created is removed, never one that VENV= pointed at.
$(BIN)/python:
	@new=; [ -e "$(VENV)" ] || new=1; \
	$(PYTHON) -m venv $(VENV) || { [ -z "$$new" ] || rm -rf "$(VENV)"; \
	  echo "make: could not create $(VENV) with $(PYTHON) -m venv. On Debian/Ubuntu install" \
	       "the venv module (sudo apt-get install python3-venv), or pass PYTHON=/path/to/python3."; \
	  exit 1; }

# Stamps: a second `make test` does not reinstall unless pyproject.toml changed.
$(VENV)/.installed-all: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(TORCH_PIP_ARGS) "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[all]"
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(TORCH_PIP_ARGS) "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[all,test]"
	@touch $@ $(VENV)/.installed-all

install: $(VENV)/.installed-all

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/adagroup demo

test: install-test
	$(BIN)/python -m pytest -q

test-all: install-test
	$(BIN)/python -m pytest -q -m ""

# The checks kept out of the default run (kill loops, many processes): about a minute here.
test-slow: install-test
	$(BIN)/python -m pytest -q -m slow

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Static types (the package ships py.typed); CI runs the same. mypy comes with the test extra,
# its settings (third-party packages without stubs are untyped) are in pyproject.toml.
typecheck: install-test
	$(BIN)/python -m mypy src/adagroup

bench-quick: install
	$(BIN)/adagroup bench --suite quick --out bench-out

bench-full: install
	$(BIN)/adagroup bench --suite full --out bench-out

bench-sdp: install-test
	$(BIN)/python benchmarks/sdp_speed.py

# What `make demo`, `make test` and the benchmarks write; the virtual env stays (distclean).
clean:
	rm -rf adagroup-out bench-out .pytest_cache adagroup-demo.db adagroup-demo.db-journal \
		adagroup-demo.db-wal adagroup-demo.db-shm

distclean: clean
	rm -rf $(VENV) src/adagroup.egg-info .mypy_cache .ruff_cache
