#!/usr/bin/env bash
# Shared by dist_train.sh and dist_test.sh: checks the process count and
# starts torchrun. Not meant to be run directly.
#
#   dist_launch SCRIPT NPROC ARGS...
#
# Environment (all optional):
#   PYTHON        the interpreter of the environment (default: python on PATH;
#                 the project's is .venv/bin/python)
#   NNODES        number of nodes (default 1); NODE_RANK this node's rank (0)
#   MASTER_ADDR   address of node 0 (default 127.0.0.1); PORT its port (29500)
#   RDZV_TIMEOUT  seconds to wait for every node to join (default 600)
dist_launch() {
  local script=$1 nproc=$2
  shift 2
  local python=${PYTHON:-python}
  local nnodes=${NNODES:-1} node_rank=${NODE_RANK:-0}
  local port=${PORT:-29500} master=${MASTER_ADDR:-127.0.0.1}
  local timeout=${RDZV_TIMEOUT:-600}
  if ! [[ "$nproc" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: the number of processes per node must be a positive integer, got '$nproc'" >&2
    return 2
  fi
  local gpus
  gpus=$("$python" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null) || {
    echo "error: '$python' cannot import torch; set PYTHON to the environment's interpreter (e.g. PYTHON=.venv/bin/python)" >&2
    return 2
  }
  if [ "$gpus" -gt 0 ] && [ "$nproc" -gt "$gpus" ]; then
    echo "error: $nproc processes asked for, but this node has $gpus GPU(s); use at most $gpus" >&2
    return 2
  fi
  if [ "$gpus" -eq 0 ]; then
    echo "warning: no GPU on this node: $nproc CPU processes (gloo); each takes the config's batch_size, so the total batch is $nproc x batch_size x $nnodes node(s)." >&2
    local cores
    cores=$(nproc --all 2>/dev/null || echo 1)
    if [ "$nproc" -gt "$cores" ]; then
      echo "warning: $nproc processes on $cores CPU cores: they will compete for the cores; use at most $cores." >&2
    fi
  fi
  if [ "$nnodes" -gt 1 ]; then
    echo "node $node_rank of $nnodes: waiting up to ${timeout}s (RDZV_TIMEOUT) for every node to join at $master:$port" >&2
  fi
  PYTHONPATH="$(dirname "$script")/..":$PYTHONPATH \
  "$python" -m torch.distributed.run \
      --nnodes="$nnodes" \
      --node_rank="$node_rank" \
      --master_addr="$master" \
      --nproc_per_node="$nproc" \
      --master_port="$port" \
      --rdzv-conf "timeout=$timeout" \
      "$script" "$@" --launcher pytorch
}
