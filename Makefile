# Two commands on a fresh machine: `make run` and `make test` (see README.md); CI runs `make test-all`.
PY ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all typecheck browser lint bench bench-load install migrate demo worker beat clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

run: demo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The fast lane: every app's tests, the permission matrix and the API contract's smoke tests (~2 min on 2 cores).
# Tests marked `deep` in tests/conftest.py (fuzzing, fault injection, concurrency, schema fuzzing) are left out.
# pytest's own exit code is make's: "no tests collected" (5) fails like a red test.
test: $(STAMP)
	$(BIN)/python -m pytest -m "not browser and not deep" $(PYTEST_ARGS)

# Everything but the browser journeys: the fast lane plus the deep tests (what CI runs, ~10 min on 2 cores).
test-all: $(STAMP)
	$(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

# The users' journeys in real Chromium (Debian's /usr/bin/chromium); screenshots in artifacts/screenshots/.
browser: $(STAMP)
	REQUIRE_BROWSER=1 $(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with the Django and DRF plugins ([tool.mypy] in pyproject.toml; its baseline list may only shrink).
typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/run_all.py

# Deadline-day load alone (200 principals, ~6 min; see bench/load/README.md).
bench-load: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/run_all.py load

worker: $(STAMP)
	$(BIN)/celery -A portal worker -l info

beat: $(STAMP)
	$(BIN)/celery -A portal beat -l info

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
