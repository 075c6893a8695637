#!/usr/bin/env bash
# Distributed test with torchrun: one process per GPU (gloo processes on
# CPU-only machines).
#
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py options]
#
# Several nodes: NNODES, NODE_RANK, MASTER_ADDR, PORT and RDZV_TIMEOUT as for
# tools/dist_train.sh. PYTHON selects the interpreter (e.g.
# PYTHON=.venv/bin/python).
if [ $# -lt 3 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
. "$(dirname "$0")/dist_launch.sh"
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
dist_launch "$(dirname "$0")/test.py" "$NPROC" "$CONFIG" "$CHECKPOINT" "$@"
