# Two commands on a fresh machine: `make run` and `make test` (see README.md); CI runs `make test-all`.
PY ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all typecheck browser lint bench bench-load install migrate demo worker beat clean lock wheelhouse install-offline
UV ?= uv
WHEELHOUSE ?= wheelhouse
# Offline installs (make wheelhouse / install-offline) read no pip configuration of the machine: only the folder.
OFFLINE_PIP := env PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= PIP_INDEX_URL= PIP_EXTRA_INDEX_URL=

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

# Benchmarks at 20,000 units; `make bench UNITS=100000` runs the tree-size ones at 100,000 (bench/README.md).
bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/run_all.py $(if $(UNITS),--units $(UNITS))

# Deadline-day load alone (200 principals, ~6 min; see bench/load/README.md).
bench-load: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/run_all.py load

worker: $(STAMP)
	$(BIN)/celery -A portal worker -l info

beat: $(STAMP)
	$(BIN)/celery -A portal beat -l info

# Locked, hashed dependency sets (every transitive package pinned), from pyproject.toml; needs uv (pip install uv).
lock:
	$(UV) pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --annotation-style line \
		-o requirements.lock
	$(UV) pip compile pyproject.toml --extra dev --extra sentry --universal --python-version 3.11 --generate-hashes \
		--annotation-style line -o requirements-dev.lock

# Wheels of the locked set for this machine's Python and platform (build it where the target's OS and Python
# match; LOCK=requirements-dev.lock for the test tools too). Needs the internet once.
LOCK ?= requirements.lock
wheelhouse:
	$(PY) -m pip download --quiet --require-hashes --no-deps --only-binary=:all: -r $(LOCK) -d $(WHEELHOUSE)
	cp $(LOCK) $(WHEELHOUSE)/

# Install on a machine without internet: only the wheelhouse folder, every file checked against its hash.
install-offline:
	$(PY) -m venv $(VENV)
	$(OFFLINE_PIP) $(BIN)/pip install --quiet --no-index --find-links $(WHEELHOUSE) --require-hashes --no-deps \
		-r $(WHEELHOUSE)/$(notdir $(LOCK))

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
