# The single entry point. Every target installs what it needs into .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FFMPEG := layers/ffmpeg/bin/ffmpeg
FONTS := layers/ffmpeg/fonts/DejaVuSans.ttf
SYSTEM := $(VENV)/.system-packages
# Debian packages: LibreOffice turns office documents into PDF (on AWS the converter image installs the
# same ones); espeak-ng speaks the sentences the speech tests recognise.
DEBIAN_PACKAGES := libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui espeak-ng
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
INPUT ?=
COUNT ?=

.PHONY: run test test-unit test-integration test-e2e test-slow lint bench bench-dispatch bench-transcode bench-split bench-features up clean

$(STAMP): requirements-dev.txt layers/common/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# The ffmpeg layer's binary comes from the imageio-ffmpeg wheel, its fonts (for text watermarks)
# from the matplotlib wheel: registry packages. One run makes both (&:, a grouped target).
$(FFMPEG) $(FONTS) &: $(STAMP)
	$(MAKE) -C layers/ffmpeg local PYTHON=$(abspath $(BIN)/python)

$(SYSTEM): $(STAMP)
	command -v soffice >/dev/null && command -v espeak-ng >/dev/null || { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES); }
	touch $@

install: $(STAMP) $(FFMPEG) $(FONTS) $(SYSTEM)

run: install
	$(BIN)/mediaflow demo $(if $(INPUT),--input "$(INPUT)")

up: install
	$(BIN)/mediaflow local up

lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

test: install lint
	$(BIN)/pytest -m "not slow"

test-unit: install
	$(BIN)/pytest -m unit

test-integration: install
	$(BIN)/pytest -m integration

test-e2e: install
	$(BIN)/pytest -m "e2e and not slow"

test-slow: install
	$(BIN)/pytest -m slow

bench: install
	$(BIN)/python bench/renditions.py $(if $(INPUT),--input "$(INPUT)")

# COUNT uploads -> queued runs -> started runs, on the local stack (bench/README.md).
bench-dispatch: install
	$(BIN)/python bench/dispatch.py $(if $(COUNT),--count $(COUNT))

# One Transcode job through the API, submit -> callback, against raw ffmpeg (bench/README.md).
bench-transcode: install
	$(BIN)/python bench/transcode.py $(if $(INPUT),--input "$(INPUT)")

# Split-parallel speedup: cut, W concurrent piece encodes, join, on this machine's cores (bench/README.md).
bench-split: install
	$(BIN)/python bench/split.py $(if $(INPUT),--input "$(INPUT)")

# Speech recognised (audio s / wall s) and pages rendered per second, against one plain pass (bench/README.md).
bench-features: install
	$(BIN)/python bench/features.py

clean:
	rm -rf .mediaflow .pytest_cache $(FFMPEG)
