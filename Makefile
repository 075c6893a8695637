# Two entry points, each doing all set-up on a fresh machine:
#   make demo   - generate a dataset, train a teacher, distill it, print mIoUs
#   make test   - run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
CAMVID_ROOT ?= $(abspath ../shared/data/camvid)

.PHONY: env demo test lint clean-env

env: $(VENV)/.mmseg_kd_installed

$(VENV)/.mmseg_kd_installed: tools/install_env.sh requirements.txt requirements/runtime.txt requirements/tests.txt setup.py
	bash tools/install_env.sh $(VENV)
	touch $@

demo: env
	$(PY) tools/demo.py

test: env
	CAMVID_ROOT=$(CAMVID_ROOT) PYTHON=$(abspath $(PY)) $(PY) -m pytest tests

lint: env
	bash tools/lint.sh $(PY)

clean-env:
	rm -rf $(VENV)
