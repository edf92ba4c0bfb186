# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PY ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test browser lint bench bench-load install migrate demo worker beat clean

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

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The users' journeys in real Chromium (Debian's /usr/bin/chromium); screenshots in artifacts/screenshots/.
browser: $(STAMP)
	REQUIRE_BROWSER=1 $(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
