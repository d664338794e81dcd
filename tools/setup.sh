#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv on a fresh machine.
# CPU torch 2.13.0 goes in first, so pip never pulls a multi-GB CUDA build for the
# range setup.py asks for. On a GPU cluster, install your own CUDA torch first instead.
#   bash tools/setup.sh           the package and TensorBoard (to train, test and benchmark)
#   bash tools/setup.sh --tests   plus the test extra (pytest) and torchvision as a reference
# Other torch releases and Pythons: docs/install.md (tools/compat_matrix.sh).
set -euo pipefail
extra='[tensorboard]'
[ "${1:-}" = '--tests' ] && extra='[tests]'
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# pip's quiet mode still warns about this machine's missing local index folders: hide
# those lines, but never a failure.
pip_install() {
  local log; log=$(mktemp)
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check "$@" >"$log" 2>&1; then
    cat "$log"; return 1
  fi
  grep -v "^WARNING: Location" "$log" || true
}
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  pip_install torch==2.13.0
fi
pip_install 'setuptools<82' wheel
pip_install -e ".$extra"
if [ "$extra" = '[tests]' ]; then
  # torchvision, the converters' reference, in the release paired with the installed torch
  # (torch 2.N goes with torchvision 0.N+15), pinning both so pip keeps this torch.
  torch_version=$(.venv/bin/python -c "import torch; print(torch.__version__.split('+')[0])")
  minor=$(echo "$torch_version" | cut -d. -f2)
  pip_install "torch==$torch_version" "torchvision==0.$((minor + 15)).*"
  # torchcodec, the third video decoder the tests compare, loads FFmpeg's shared libraries
  # from the system (about 25 s as root on Debian); its PyPI wheels from 0.14 on are CUDA
  # builds, 0.12 is the CPU build that loads with CPU torch >= 2.11. Without root or apt,
  # its tests are skipped.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get -qq update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends ffmpeg >/dev/null
    pip_install "torch==$torch_version" torchcodec==0.12.0
  fi
fi
.venv/bin/python -c "import r21d_plugin, torch, mmaction; print('r21d_plugin', r21d_plugin.__version__, '| torch', torch.__version__, '| mmaction2', mmaction.__version__)"
