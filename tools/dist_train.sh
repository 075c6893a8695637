#!/usr/bin/env bash
# Distributed training with torchrun: one process per GPU (gloo processes on
# CPU-only machines).
#
#   tools/dist_train.sh CONFIG NPROC [train.py options]
#
# Several nodes: the same command on every node, with NNODES, NODE_RANK,
# MASTER_ADDR (and PORT) set; RDZV_TIMEOUT (seconds, default 600) bounds the
# wait for the other nodes. --resume needs the same checkpoint on every node
# (a shared work dir, or the file copied to each); a run whose ranks resume
# from different iterations stops with an error. PYTHON selects the
# interpreter (e.g. PYTHON=.venv/bin/python).
if [ $# -lt 2 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
. "$(dirname "$0")/dist_launch.sh"
CONFIG=$1
NPROC=$2
shift 2
dist_launch "$(dirname "$0")/train.py" "$NPROC" "$CONFIG" "$@"
