# The single entry point. Every target installs what it needs into .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FFMPEG := layers/ffmpeg/bin/ffmpeg
FONTS := layers/ffmpeg/fonts/DejaVuSans.ttf
SYSTEM := $(VENV)/.system-packages
SWAGGER_UI := layers/common/python/mediaflow/faces/swagger_ui/swagger-ui-bundle.js
# The SAM CLI has a virtualenv of its own: its pins (click, boto3, ...) stay out of the test tools'.
SAM_VERSION := 1.170.0
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
BUILT := .aws-sam/build/template.yaml
# The converter image (make converter-image): IMAGE_REPO is an ECR repository URI to push to.
IMAGE_REPO ?=
IMAGE_TAG ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo latest)
# Debian packages: LibreOffice turns office documents into PDF (on AWS the converter image installs the
# same ones); espeak-ng speaks the sentences the speech tests recognise.
DEBIAN_PACKAGES := libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui espeak-ng
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
INPUT ?=
COUNT ?=

.PHONY: run test test-unit test-integration test-e2e test-slow test-build lint build converter-image bench bench-renditions bench-cost bench-dispatch bench-queues bench-transcode bench-split bench-features up clean

$(STAMP): requirements-dev.txt layers/common/requirements.txt layers/engines/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# The ffmpeg layer's binary comes from the imageio-ffmpeg wheel, its fonts (for text watermarks)
# from the matplotlib wheel: registry packages. One run makes both (&:, a grouped target).
$(FFMPEG) $(FONTS) &: $(STAMP)
	$(MAKE) -C layers/ffmpeg local PYTHON=$(abspath $(BIN)/python)

$(SAM):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_VERSION)
	touch $@

$(SYSTEM): $(STAMP)
	command -v soffice >/dev/null && command -v espeak-ng >/dev/null || { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES); }
	touch $@

$(SWAGGER_UI):
	$(MAKE) -C layers/common swagger-ui

install: $(STAMP) $(FFMPEG) $(FONTS) $(SYSTEM) $(SWAGGER_UI)

run: install
	$(BIN)/mediaflow demo $(if $(INPUT),--input "$(INPUT)")

up: install
	$(BIN)/mediaflow local up

lint: $(STAMP) $(SAM)
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1

# `sam build` without a container engine: zip functions and makefile layers (wheels for Lambda's
# Linux x86_64 CPython 3.12, fetched by pip), the converter image left to `make converter-image`.
# The layers' Makefiles run pip with the project's virtualenv Python.
build: $(STAMP) $(SAM) $(SWAGGER_UI)
	SAM_CLI_TELEMETRY=0 PYTHON=$(abspath $(BIN)/python) $(SAM) build --region us-east-1

# Builds the converter image (needs Docker) and, with IMAGE_REPO=<account>.dkr.ecr.<region>.amazonaws.com/<repo>,
# pushes it there; deploy with ConverterImageUri set to the URI it prints (README, "Deploying to AWS").
converter-image:
	docker build --platform linux/amd64 -f functions/convert/Dockerfile -t mediaflow-converter:$(IMAGE_TAG) .
	@if [ -n "$(IMAGE_REPO)" ]; then \
	    docker tag mediaflow-converter:$(IMAGE_TAG) $(IMAGE_REPO):$(IMAGE_TAG) && \
	    docker push $(IMAGE_REPO):$(IMAGE_TAG) && \
	    echo "ConverterImageUri=$(IMAGE_REPO):$(IMAGE_TAG)"; \
	else \
	    echo "built mediaflow-converter:$(IMAGE_TAG); to push: aws ecr get-login-password | docker login --username AWS --password-stdin <account>.dkr.ecr.<region>.amazonaws.com, then make converter-image IMAGE_REPO=<repository URI>"; \
	fi

# Every built function with its layers measured against Lambda's size limit (tests/build).
test-build: build
	$(BIN)/pytest -m build -s

test: install lint build
	$(BIN)/pytest -m "not slow" --durations=25

test-unit: install
	$(BIN)/pytest -m unit

test-integration: install
	$(BIN)/pytest -m integration

test-e2e: install
	$(BIN)/pytest -m "e2e and not slow"

test-slow: install
	$(BIN)/pytest -m slow

# The scale report: start rate, upload burst, split speedup, cost; writes bench/REPORT.md and its plots.
bench: install
	$(BIN)/python bench/report.py

# The demo workflow's renditions: pipeline against raw ffmpeg (bench/README.md).
bench-renditions: install
	$(BIN)/python bench/renditions.py $(if $(INPUT),--input "$(INPUT)")

# CPU-seconds per output minute by rendition and codec, priced as Lambda bills them (bench/README.md).
bench-cost: install
	$(BIN)/python bench/cost.py

# COUNT uploads -> queued runs -> started runs, on the local stack (bench/README.md).
bench-dispatch: install
	$(BIN)/python bench/dispatch.py $(if $(COUNT),--count $(COUNT))

# COUNT jobs waiting: pause/resume cost and one Processor's start rate, batched and one at a time (bench/README.md).
bench-queues: install
	$(BIN)/python bench/queues.py $(if $(COUNT),--count $(COUNT))

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
	rm -rf .mediaflow .pytest_cache .aws-sam $(FFMPEG) $(dir $(SWAGGER_UI))
