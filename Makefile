# The two quick-start commands are `make demo` and `make test`; both install what they need.
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# The CPU build of torch; any other spec pulls gigabytes of CUDA packages.
TORCH := torch==2.13.0
# Serial BLAS: tests and benchmarks run many small eigendecompositions on few cores.
export OMP_NUM_THREADS ?= 1

.PHONY: install install-test demo test test-all lint bench-quick bench-full bench-sdp clean

install:
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[all]"

install-test:
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[all,test]"

demo: install
	adagroup demo

test: install-test
	$(PYTHON) -m pytest -q

test-all: install-test
	$(PYTHON) -m pytest -q -m ""

lint:
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks

bench-quick:
	adagroup bench --suite quick --out bench-out

bench-full:
	adagroup bench --suite full --out bench-out

bench-sdp:
	$(PYTHON) benchmarks/sdp_speed.py

clean:
	rm -rf adagroup-out bench-out .pytest_cache
