#!/usr/bin/env bash
# The style checks of .pre-commit-config.yaml, run the same way by
# `make lint` and .ci/run: flake8, isort, yapf (settings in setup.cfg) and
# codespell. Fails on the first problem, printing what to change.
#
#   tools/lint.sh [PYTHON]        (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
"$PY" -m pip install -q flake8==7.1.1 isort==5.13.2 yapf==0.40.2 \
    codespell==2.3.0
CODE="mmseg_kd tools tests setup.py"
echo '[lint] flake8'
"$PY" -m flake8 $CODE
echo '[lint] isort'
"$PY" -m isort --check-only --diff $CODE
echo '[lint] yapf'
diff=$("$PY" -m yapf --diff -r $CODE || true)
if [ -n "$diff" ]; then
  echo "$diff"
  echo 'yapf would reformat the files above: run'
  echo "  $PY -m yapf -i -r $CODE"
  exit 1
fi
echo '[lint] codespell'
"$PY" -m codespell_lib mmseg_kd tools tests docs README.md distillation_configs
echo '[lint] ok'
