# creditplus — two set-up commands: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install messages clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "creditplus needs Python 3.11 or newer"; exit 1; }
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV) \
	  || { echo "Cannot create a virtualenv. Please run: sudo apt-get install -y python3-venv"; exit 1; }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# Runs the platform on the embedded SQLite default with demo data at 127.0.0.1:8000.
demo: install
	scripts/ensure-system-deps.sh fonts pango
	scripts/demo.sh

test: install
	scripts/ensure-system-deps.sh postgres chromium fonts pango java wrk
	scripts/test.sh

# Regenerate the English translation catalogue after changing UI text.
messages: install
	cd creditplus && ../$(BIN)/creditplus makemessages -l en --no-obsolete
	cd creditplus && ../$(BIN)/creditplus compilemessages -l en

clean:
	rm -rf $(VENV) var
