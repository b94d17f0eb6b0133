# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLEXPOOL_DATABASE_URL ?= sqlite:///instance/flexpool.db

.PHONY: demo test lint typecheck imports pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Plain http on the loopback address: the cookies cannot be marked Secure there.
# The scheduler is its own process beside the web server; leaving (Ctrl-C) stops both.
demo: $(STAMP)
	$(BIN)/flexpool db upgrade
	$(BIN)/flexpool demo --keep-existing
	$(BIN)/flexpool scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	FLEXPOOL_SECURE_COOKIES=0 $(BIN)/flexpool serve --host 127.0.0.1 --port 5000

test: lint typecheck imports pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy ledger approvals reports

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.ledger_bench

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .hypothesis
