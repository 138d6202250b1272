# Set-up, demo, tests and benchmarks. Every target installs what it needs first and is safe to run twice.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBS := espeak-ng sox libsndfile1 libportaudio2 chromium maven libfst-tools libfst22-plugins-base postgresql redis-server fonts-dejavu-core
SAMPLES := samples/bereavement_cold.wav samples/bereavement_warm.wav samples/plain.wav

.PHONY: demo test lint bench setup debs model samples clean fuzz eval

# The sample recordings, plus one of them streamed in as a live Twilio call a few seconds after start;
# a fresh data folder with one account, a lead of the default team (the samples' team).
DEMO_ENV := CALLCOACH_INGEST_TOKEN=demo CALLCOACH_DATA=build/demo-data CALLCOACH_RECORDINGS=samples
DEMO_LOGIN := demo / callcoach-demo
demo: setup
	$(BIN)/callcoach analyze samples/bereavement_cold.wav
	@rm -rf build/demo-data
	@printf '%s\n' callcoach-demo | $(BIN)/callcoach user add demo --role lead --team default \
	    --name "Demo Lead" --password-stdin --exist-ok --data build/demo-data
	@(sleep 3; printf '\n  Log in at http://127.0.0.1:8080 as %s\n\n' "$(DEMO_LOGIN)"; sleep 7; \
	    $(DEMO_ENV) $(BIN)/callcoach simulate-call samples/bereavement_cold.wav \
	    --twilio ws://127.0.0.1:8080/ingest/twilio) & \
	$(DEMO_ENV) $(BIN)/callcoach serve

# One worker per core; a test file stays on one worker (--dist loadfile), so the servers and analysed calls
# its module fixtures share are made once.
test: setup lint
	$(BIN)/pytest -q -n auto --dist loadfile

# The property tests of every sans-I/O parser with many more random examples than `make test` runs (several
# minutes); a failing example is kept in build/hypothesis and tried first next time.
fuzz: $(VENV)/.installed
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q tests/fuzz

lint: $(VENV)/.installed typecheck-tree
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy tests

# Figures, never assertions (aimed at 15 min on 2 idle cores; a busy machine takes longer): replay against
# bare Vosk (one run each, the samples and the longest stereo call in $(REAL) or build/eval), where one
# live call's CPU goes (py-spy), 1–16 live calls at once against the targets, the page's latency, and one
# call followed by many coaches, and a folder of calls analysed with 1 and 2 processes beside bare Vosk.
bench: setup
	$(BIN)/python -m tests.bench.run --repeats 1 --real $(REAL)
	$(BIN)/python -m tests.bench.batch
	$(BIN)/python -m tests.bench.profile_call
	$(BIN)/python -m tests.bench.live_calls
	$(BIN)/python -m tests.bench.page_latency
	$(BIN)/python -m tests.bench.fanout
	$(BIN)/python -m tests.bench.bus

setup: debs $(VENV)/.installed model samples

# Debian packages: installed when missing (as root), else the exact apt-get line to run.
debs:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

# The project, editable, with its dev extras: the one list of Python dependencies is pyproject.toml.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# mypy cannot follow setuptools' editable import hook: give it a link tree with the one import root.
typecheck-tree:
	@mkdir -p build/typecheck/callcoach
	@for d in audio live detectors web; do ln -sfn ../../../$$d build/typecheck/callcoach/$$d; done

.PHONY: typecheck-tree

model: $(VENV)/.installed
	$(BIN)/callcoach model fetch

samples: $(VENV)/.installed
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache test-artifacts

# The detectors measured on the labelled evaluation set (tests/eval/, generated into build/eval/), then run
# on the real recordings in ../shared/real (REAL=DIR elsewhere). ONLY=name|glob|kind runs part of it; every
# call is analysed RUNS times (default 3) for each kind's flip rate between runs.
REAL ?= ../shared/real
eval: setup
	$(BIN)/python -m tests.eval.run --real $(REAL) $(if $(ONLY),--only $(ONLY)) $(if $(RUNS),--runs $(RUNS))
