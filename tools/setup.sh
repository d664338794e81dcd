#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv on a fresh machine.
# CPU torch 2.13.0 goes in first, so pip never pulls a multi-GB CUDA build for the
# range setup.py asks for. On a GPU cluster, install your own CUDA torch first instead.
#   bash tools/setup.sh           the package (enough to train, test and benchmark)
#   bash tools/setup.sh --tests   plus the test extra (pytest) and torchvision as a reference
set -euo pipefail
extra=''
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
if [ -n "$extra" ]; then
  # torchvision, the converters' reference, in the release paired with the installed torch
  # (torch 2.N goes with torchvision 0.N+15), pinning both so pip keeps this torch.
  torch_version=$(.venv/bin/python -c "import torch; print(torch.__version__.split('+')[0])")
  minor=$(echo "$torch_version" | cut -d. -f2)
  pip_install "torch==$torch_version" "torchvision==0.$((minor + 15)).*"
fi
.venv/bin/python -c "import r21d_plugin, torch, mmaction; print('r21d_plugin', r21d_plugin.__version__, '| torch', torch.__version__, '| mmaction2', mmaction.__version__)"
