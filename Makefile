# Round tables: the two commands (run, test) and the benchmark.
# Nothing to install but Python 3.11+; everything else goes into .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
HOST   ?= 127.0.0.1
# `make run` is the local demo: DEBUG allows the development secret key. Daphne listens with a
# backlog of 1,024 (Twisted's default is 50): a storm of joins otherwise waits for SYN retries.
RUN_ENV := DEBUG=$${DEBUG:-1} BASE_URL=$${BASE_URL:-http://$(HOST):$(PORT)} PORT=$(PORT)

.PHONY: run test bench install install-test lint clean messages staff

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test,dev]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py migrate --noinput -v0
	$(RUN_ENV) $(PY) manage.py signing_keys
	$(RUN_ENV) $(PY) manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	@echo "Sending e-mail every 5 s: .eml files under var/mail/ unless EMAIL_URL is set (log: var/send_mail.log)"
	@$(RUN_ENV) $(PY) manage.py send_mail --loop --interval 5 >>"$${DATA_DIR:-var}/send_mail.log" 2>&1 & mailer=$$!; \
	trap 'kill $$mailer 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(VENV)/bin/daphne -e tcp:port=$(PORT):interface=$(HOST):backlog=1024 forum.asgi:application

# A staff account for the secretariat, in the database `make run` serves (asks for the password).
staff: $(VENV)/.installed
	@test -n "$(EMAIL)" || { echo "usage: make staff EMAIL=you@example.org"; exit 2; }
	$(RUN_ENV) $(PY) manage.py migrate --noinput -v0
	$(RUN_ENV) $(PY) manage.py create_staff "$(EMAIL)"

# `make lint` first; then the whole suite on the embedded SQLite default, then the in-process
# tests again on PostgreSQL (SQLite ignores FOR UPDATE and hides real bugs). Without PostgreSQL
# the second pass is skipped with its reason; with CI=true it fails instead.
# The second pass leaves out the modules whose assertions cannot depend on the database engine
# (sanitising, the leak guard's text rules, the permission table, catalogs, fuzzing and property
# runs of pure projections, the tree's shape; the renderers of a minutes document built by
# code test_minutes runs on both engines: PDF and Word, Akoma Ntoso, the JSON schemas, the
# room's language, the block model of what speakers wrote; and the signatures over the
# rendered bytes): run twice they only doubled the suite's time. What can differ by engine stays in it: locks, transactions, constraints,
# counters, raw SQL, migrations, ordering and case-insensitive matching (the CSV dialects'
# non-ASCII organization names, the wording's numbering across the package and cover letter).
ENGINE_NEUTRAL_TESTS := test_xss test_sanitize test_leakguard test_permissions test_translations \
  test_plain_input test_fuzz_frames test_fuzz_forms test_fuzz_csv test_leak_property \
  test_disclosure_property test_settings test_architecture \
  test_minutes_office test_minutes_akn test_minutes_schemas test_minutes_language test_signing \
  test_minutes_pdf test_minutes_blocks test_blocks
# Both passes run on TEST_WORKERS processes (pytest-xdist; TEST_WORKERS=1: one process, in the
# collected order). A worker takes a whole module at a time (--dist loadfile), so a module's
# live server, browser or cluster starts once; the modules that start real processes are
# handed out first (tests/conftest.py). Each worker has its own SQLite file and PostgreSQL
# test database; clusters, live servers and private Redis servers pick their own free ports,
# databases and Redis key prefixes.
TEST_WORKERS ?= 2
XDIST = $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)
test: $(VENV)/.installed-test lint
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)
	@problem="$$($(PY) -c 'from tests.support.cluster import postgres_problem; print(postgres_problem() or "")')"; \
	if [ -z "$$problem" ]; then \
	  echo "== the in-process suite again, on PostgreSQL =="; \
	  TEST_DATABASE=postgres $(PY) -m pytest $(XDIST) -m "not multiprocess and not browser" \
	    $(foreach t,$(ENGINE_NEUTRAL_TESTS),--ignore=tests/$(t).py) $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
	  echo "FAILED: PostgreSQL is required when CI=true: $$problem"; exit 1; \
	else \
	  echo "SKIPPED: the PostgreSQL pass ($$problem)"; \
	fi

# BENCH_QUICK=1: a quick look (100 listeners for 5 s, smaller scenarios, 500 interventions).
# The exports run even when the fan-out reports a loss; either failing fails the target.
BENCH_QUICK ?=
BENCH_IS_QUICK = $(filter 1 yes true,$(BENCH_QUICK))
bench: $(VENV)/.installed-test
	@status=0; \
	$(PY) bench/fanout.py $(if $(BENCH_IS_QUICK),--quick) $(BENCH_ARGS) || status=$$?; \
	$(PY) bench/exports.py $(if $(BENCH_IS_QUICK),--interventions 500 --repeat 1) $(EXPORT_BENCH_ARGS) || status=$$?; \
	exit $$status

# The interface's catalogs (needs GNU gettext: apt-get install gettext). Translate the new
# entries of locale/{es,fr,pt}/LC_MESSAGES/django.po, then run it again to compile them.
messages: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemessages -l es -l fr -l pt --no-obsolete --no-location \
	  --ignore=tests --ignore=bench --ignore=staticfiles --ignore=var
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

# Lint and layout, line length included; `make test` runs it first, so drift fails CI.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check forum realtime moderation tests bench
	$(VENV)/bin/ruff format --check forum realtime moderation tests bench

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
