# surveykit: `make run` serves the app on http://127.0.0.1:5000; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# pytest-xdist workers for `make test`: one per core ("auto"); WORKERS=0 runs in one process.
WORKERS ?= auto

.PHONY: run test harden bench lint install install-test clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's metadata changes; the stamps keep repeated runs fast.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml tests/axe/package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# axe-core for the respondent pages' browser tests, pinned by tests/axe/package-lock.json.
	if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/axe --no-audit --no-fund --silent; \
	else echo "no npm: tests/test_keyboard_suite.py will fail until axe-core is installed (npm ci --prefix tests/axe)"; fi
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/surveykit db upgrade
	$(BIN)/surveykit surveys demo
	@# Request logging is off (anonymity), so the server's own "Running on" line never shows: say it here.
	@echo "surveykit: serving http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	@# With no account yet, `surveykit run` prints a one-time link that creates the first (admin) account; the link
	@# is built on SURVEYKIT_BASE_URL, which defaults here to the address served.
	SURVEYKIT_BASE_URL=$${SURVEYKIT_BASE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/surveykit run --host 127.0.0.1 --port $(PORT)

test: install-test
	$(BIN)/python -m pytest -n $(WORKERS) --dist worksteal -m "not harden"

# The hardening suite: each test prints its figures (inputs tried, crashes, 5xx, linked/total, lost, duplicates).
harden: install-test
	$(BIN)/python -m pytest -m harden -s -p no:xdist

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy surveyapp instrument coding exports

bench: install-test
	$(BIN)/python bench/agreement.py
	$(BIN)/python bench/suggest.py
	$(BIN)/python bench/assist_web.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/coding_browser.py
	$(BIN)/python bench/submit.py
	$(BIN)/python bench/cli_start.py
	$(BIN)/python bench/respond.py

# The app's own words: extract them into the template, merge it into each language's .po, compile the .mo files
# (both are committed; tests/test_languages.py fails on an untranslated message or a .mo older than its .po).
messages: install-test
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k Message --no-wrap --sort-by-file --omit-header \
		-o surveyapp/translations/messages.pot .
	$(BIN)/pybabel update -i surveyapp/translations/messages.pot -d surveyapp/translations --no-wrap \
		--no-fuzzy-matching --ignore-pot-creation-date
	$(BIN)/pybabel compile -d surveyapp/translations --statistics

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
