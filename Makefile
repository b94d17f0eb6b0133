# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLEXPOOL_DATABASE_URL ?= sqlite:///instance/flexpool.db

.PHONY: demo test lint typecheck imports pytest calendar bench clean

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
	$(BIN)/mypy ledger approvals reports demo

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

# The tests marked `calendar` (they build on today) again at dates that have bitten or will:
# first days of a month and of the year, 29 February, 30 June and 1 July, and both
# daylight-saving changes in Sydney. SQLite only; each date stops at its first failure and
# loads its own demo, so `make -j2 -O calendar` (as .ci/run does) runs two dates at once.
CALENDAR_DATES := 2026-12-01 2026-12-03 2027-01-01 2027-02-28 2027-03-01 2027-04-04 \
	2027-06-30 2027-07-01 2027-10-03 2028-02-29
calendar: $(addprefix calendar-,$(CALENDAR_DATES))

calendar-%: $(STAMP)
	@echo "calendar: the date-sensitive tests on $*"
	FLEXPOOL_TEST_TODAY=$* $(BIN)/pytest -q -p no:cacheprovider -x -m "calendar and not postgres" \
		tests/web tests/reports

bench: $(STAMP)
	$(BIN)/python -m bench.ledger_bench

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .hypothesis
