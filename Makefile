# The two quick-start commands (`make run`, `make test`) work on a fresh machine:
# they create .venv and install the project when it is missing or pyproject.toml changed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench chat chaos staff-chat clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pustaka init --sample --if-missing
	$(BIN)/pustaka run

chat: $(STAMP)
	$(BIN)/pustaka init --sample --if-missing
	$(BIN)/pustaka chat

# The staff side without Telegram: an admin (user id 9001 unless STAFF_ID says otherwise).
STAFF_ID ?= 9001
staff-chat: $(STAMP)
	$(BIN)/pustaka init --sample --if-missing
	PUSTAKA_ADMINS=$(STAFF_ID) $(BIN)/pustaka chat --as $(STAFF_ID)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot handlers storage

bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# The standing reliability suite (issue 15, docs/reliability.md): fuzzers, kill -9, database
# lock and deletion, API outage, load. Takes about 15 minutes; prints one table.
chaos: $(STAMP)
	$(BIN)/python chaos/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
