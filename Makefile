# Set-up and the two entry points of the README: `make demo` and `make test`.
# Both create .venv when it is missing and install PyTorch (TORCH_SPEC) and ttvos into it.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
BIN := $(VENV)/bin

.PHONY: demo test lint install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch, torchvision" 2>/dev/null || $(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

demo: install
	$(BIN)/ttvos demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check ttvos tests
	$(BIN)/ruff format --check ttvos tests
