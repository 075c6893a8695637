#!/usr/bin/env bash
# Creates (or updates) a virtual environment with the full mmseg_kd stack.
#
#   tools/install_env.sh [VENV_DIR]        (default: .venv)
#
# The stack: torch 2.13 + torchvision 0.28, mmcv 2.1.0 built from source with its
# compiled ops (no prebuilt wheel exists for this torch), mmengine 0.10.7,
# mmsegmentation 1.2.2, timm, tensorboard. See docs/get_started.md for why each pin.
# Re-running is cheap: every step is skipped when already satisfied, and pip's
# wheel cache keeps the ~17-minute mmcv build.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "[install] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pip_() { "$VPY" -m pip "$@"; }

pip_ install -q --upgrade pip 'setuptools>=77,<81' wheel ninja

# 1. torch + torchvision. timm imports torchvision, whose wheels are linked against
#    the CUDA build of torch; some machines carry a local CPU-only torch wheel in
#    their pip config, so bypass it to take the registry builds (these run on CPU).
if ! "$VPY" -c 'import torch, torchvision, sys; sys.exit(0 if torch.__version__.startswith("2.13.") else 1)' 2>/dev/null; then
  echo "[install] torch 2.13.0 + torchvision 0.28.0 (registry builds; a few GB the first time)"
  PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= pip_ install -q torch==2.13.0 torchvision==0.28.0
fi

# 2. mmcv 2.1.0 with ops, built against the torch just installed.
if ! "$VPY" -c 'import mmcv, mmcv.ops, sys; sys.exit(0 if mmcv.__version__ == "2.1.0" else 1)' 2>/dev/null; then
  echo "[install] mmcv 2.1.0 with compiled ops (built from source; ~17 min on 2 cores, cached afterwards)"
  pip_ install -q 'mmengine==0.10.7' 'opencv-python' 'numpy' 'packaging' 'addict' 'pyyaml' 'yapf'
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} pip_ install --no-build-isolation 'mmcv==2.1.0'
fi

# 3. everything else, then the package itself (editable).
pip_ install -q -r requirements.txt
pip_ install -q --no-build-isolation --no-deps -e .
"$VPY" - <<'PY'
import torch, mmcv, mmcv.ops, mmengine, mmseg, timm
print(f"[install] ok: torch {torch.__version__}, mmcv {mmcv.__version__}, "
      f"mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, timm {timm.__version__}")
PY
