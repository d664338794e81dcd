#!/usr/bin/env bash
# The compatibility matrix, run: one fresh venv per (Python, torch) combination.
#
#   tools/compat_matrix.sh [options] PYTHON:TORCH [PYTHON:TORCH ...]
#     e.g. tools/compat_matrix.sh 3.11:2.4.1 3.12:2.9.1 3.13:2.15.0
#
# For each combination: a fresh venv; torch==TORCH from the package registry, first (on
# x86_64 that is a CUDA build, which runs on the CPU); then `pip install -e .[tests]` (with
# --wheel: `pip install .[tests]`, as a user would), which must leave that torch in place;
# then the torchvision release paired with it (torch 2.N <-> torchvision 0.(N+15)); torch is
# checked again; then the tests run. One table row per combination: Python, torch,
# torchvision, mmengine, the tests' result, the tests' time. The venv is deleted after its
# row (at most one on disk at a time: a CUDA torch with its nvidia libraries is 3-6 GB).
# Everything runs on a copy of the checkout's files taken at the start (tracked and
# untracked, not ignored), so the table's commit is what ran even if the checkout changes.
#
# PYTHON is a version (3.12: `python3.12` on PATH, else pyenv's) or an interpreter's path.
# TORCH is a release on the registry (2.4.1). Options:
#   --full             run the whole suite (tests/, on 2 workers) instead of the subset below
#   --tests "PATHS"    run these test paths instead of the subset
#   --wheel            install the plugin with `pip install .` instead of `-e .`
#   --without decord   uninstall decord, then instead of the tests (which compare against
#                      decord) run the use side on real mp4s: check-dataset, extract-flow,
#                      infer and extract-features (the ARM / no-decord install)
#   --keep             keep the venvs (in $COMPAT_DIR, default /tmp/r21d-compat)
# Each venv gets its own pip.conf with `constraint = /dev/null`: torch and torchvision are
# pinned exactly, so a constraint file of the machine's pip config could only refuse the
# release asked for (this one caps torch below the newest); the rest of that config holds.
# Exit status: 0 when every row passed, 1 otherwise, 2 for a usage error.
set -uo pipefail
cd "$(dirname "$0")/.."

# The default subset (docs/install.md): the models and their fast paths, weight conversion
# and checkpoint loading (torch's weights_only and safe-globals APIs), the compatibility
# fixes, checkpoint writing, a real train -> test run of the tools, and the wheel's contents.
SUBSET='tests/test_compat.py tests/test_models tests/test_weights
tests/test_engine/test_checkpoint.py tests/test_engine/test_checkpoint_policy.py
tests/test_tools/test_train_test.py
tests/test_tools/test_packaging.py::test_the_wheel_ships_configs_label_maps_and_a_console_script_per_tool'

usage() { sed -n '2,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

tests=$SUBSET workers=0 mode=-e keep=0 without=''
combos=()
while [ $# -gt 0 ]; do
  case "$1" in
    --full) tests=tests workers=2 ;;
    --tests) [ $# -ge 2 ] || usage; tests=$2; shift ;;
    --wheel) mode='' ;;
    --without) [ "${2:-}" = decord ] || usage; without=decord; shift ;;
    --keep) keep=1 ;;
    -h|--help) usage ;;
    -*) echo "compat_matrix.sh: error: unknown option $1" >&2; usage ;;
    *:*) combos+=("$1") ;;
    *) echo "compat_matrix.sh: error: $1 is not PYTHON:TORCH" >&2; usage ;;
  esac
  shift
done
[ ${#combos[@]} -gt 0 ] || usage

root=${COMPAT_DIR:-/tmp/r21d-compat}
mkdir -p "$root"
log_dir="$root/logs"
mkdir -p "$log_dir"
export PIP_DISABLE_PIP_VERSION_CHECK=1

find_python() {  # a version (3.12) or a path -> an interpreter that runs
  local wanted=$1 candidate
  if [ -x "$wanted" ]; then echo "$wanted"; return; fi
  for candidate in "$(command -v "python$wanted" 2>/dev/null)" \
                   "$(pyenv root 2>/dev/null)"/versions/"$wanted"*/bin/python; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c '' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  return 1
}

# The use side on the generated motion dataset's mp4s with a randomly initialised demo
# network, through whatever decoder is there (--decoder auto); prints the tools that ran.
use_side() {  # python work_dir
  local py=$1 dir=$2 config=configs/demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py
  local data=$dir/motion ran=() video
  nice -n 10 "$py" tools/data/generate_motion_dataset.py --out "$data" --size test \
    --videos-per-class train=1,val=1,test=1 || return 1
  nice -n 10 "$py" - "$config" "$dir/random.pth" <<'PY' || return 1
import sys
import torch
import r21d_plugin  # noqa: F401
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
init_default_scope('mmaction')
torch.manual_seed(0)
model = MODELS.build(Config.fromfile(sys.argv[1]).model)
torch.save({'state_dict': model.state_dict(), 'meta': {}}, sys.argv[2])
PY
  video=$(find "$data/test" -name '*.mp4' | sort | head -1)
  nice -n 10 "$py" tools/check_dataset.py "$data/test.txt" "$data" --out "$dir/check" && ran+=(check-dataset)
  nice -n 10 "$py" tools/extract_flow.py "$data/test.txt" "$dir/flow" --video-root "$data" \
    --workers 1 && ran+=(extract-flow)
  nice -n 10 "$py" tools/infer.py "$config" "$dir/random.pth" "$video" \
    --label-map "$data/classes.txt" --no-progress && ran+=(infer)
  nice -n 10 "$py" tools/extract_features.py "$config" "$dir/random.pth" "$data/test.txt" \
    "$dir/features" --video-root "$data" --workers 0 --no-progress && ran+=(extract-features)
  echo "use side without decord: ${#ran[@]} of 4 tools ran (${ran[*]})"
  [ ${#ran[@]} = 4 ]
}

rows=()
failed=0
commit=$(git rev-parse --short HEAD)
dirty=$(git status --porcelain --untracked-files=no | grep -q . && echo ' (with uncommitted changes)')
source_dir="$root/source-$$"
rm -rf "$source_dir" && mkdir -p "$source_dir"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$source_dir" 2>/dev/null
cd "$source_dir" || exit 2
trap 'rm -rf "$source_dir"' EXIT
for combo in "${combos[@]}"; do
  want_python=${combo%%:*} torch_release=${combo#*:}
  minor=$(echo "$torch_release" | cut -d. -f2)
  vision="0.$((minor + 15)).*"
  venv="$root/py$want_python-torch$torch_release"
  log="$log_dir/py$want_python-torch$torch_release.log"
  : >"$log"
  row() {  # python torch torchvision mmengine result seconds
    rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |")
    echo "compat_matrix.sh: $combo: $5 (log: $log)" >&2
  }
  if ! python=$(find_python "$want_python"); then
    row "$want_python" "$torch_release" - - 'no such interpreter' -; failed=1; continue
  fi
  rm -rf "$venv"
  py="$venv/bin/python"
  pip_install() { nice -n 10 "$py" -m pip install "$@" >>"$log" 2>&1; }
  installed_torch() { "$py" -c 'import torch; print(torch.__version__)' 2>>"$log"; }
  start=$(date +%s)
  if ! "$python" -m venv "$venv" >>"$log" 2>&1 \
     || ! printf '[global]\nconstraint = /dev/null\n' >"$venv/pip.conf" || ! pip_install -U pip \
     || ! pip_install "torch==$torch_release"; then
    row "$("$python" -V 2>&1 | cut -d' ' -f2)" "$torch_release" - - 'torch did not install' -
    failed=1; rm -rf "$venv"; continue
  fi
  full_python=$("$py" -c 'import platform; print(platform.python_version())')
  torch_before=$(installed_torch)
  # The plugin beside the installed torch: pip must keep it (setup.py's range admits it).
  if ! pip_install $mode '.[tests]'; then
    row "$full_python" "$torch_before" - - 'the plugin did not install' -
    failed=1; rm -rf "$venv"; continue
  fi
  torch_after=$(installed_torch)
  if [ "$torch_after" != "$torch_before" ]; then
    row "$full_python" "$torch_before" - - "pip replaced torch by $torch_after" -
    failed=1; rm -rf "$venv"; continue
  fi
  # A torch newer than every torchvision on the registry: the previous torchvision release
  # without its dependencies (its pure-Python models are what the tests compare against;
  # compat.py declares its ops where its compiled part does not load), marked with '*'.
  vision_note=''
  if ! pip_install "torch==$torch_release" "torchvision==$vision"; then
    vision_note='*'
    if ! pip_install --no-deps "torchvision==0.$((minor + 14)).*"; then
      row "$full_python" "$torch_before" - - "no torchvision $vision or 0.$((minor + 14))" -
      failed=1; rm -rf "$venv"; continue
    fi
  fi
  if [ "$without" = decord ]; then
    "$py" -m pip uninstall -y decord >>"$log" 2>&1
    if "$py" -c 'import decord' 2>/dev/null; then
      row "$full_python" "$torch_before" - - 'decord is still importable' -
      failed=1; rm -rf "$venv"; continue
    fi
  fi
  versions=$("$py" -c 'import importlib.metadata as m; print(m.version("torchvision"), m.version("mmengine"))')
  install_seconds=$(( $(date +%s) - start ))
  echo "installed in ${install_seconds}s: torch $(installed_torch), torchvision/mmengine $versions" >>"$log"
  start=$(date +%s)
  if [ "$without" = decord ]; then
    rm -rf "$venv.use-side"
    use_side "$py" "$venv.use-side" >>"$log" 2>&1
    status=$?
    rm -rf "$venv.use-side"
    result=$(grep '^use side without decord:' "$log" | tail -1 | sed 's/^use side without decord: //')
  else
    # shellcheck disable=SC2086  # the test paths are words
    nice -n 10 "$py" -m pytest $tests -q -p no:cacheprovider -n "$workers" >>"$log" 2>&1
    status=$?
    result=$(grep -E '^=*\s*[0-9]+ (passed|failed)|^=*\s*[0-9]+ errors? ' "$log" | tail -1 \
             | sed -E 's/^=+ //; s/ in [0-9.]+s.*//; s/, [0-9]+ warnings?//')
  fi
  seconds=$(( $(date +%s) - start ))
  [ -n "$result" ] || result="exit status $status"
  [ "$status" = 0 ] || failed=1
  row "$full_python" "$(installed_torch)" "${versions% *}$vision_note" "${versions#* }" "$result" \
    "${seconds}s"
  [ "$keep" = 1 ] || rm -rf "$venv"
done

echo
echo "Compatibility matrix, $(date -u +%Y-%m-%d), commit $commit$dirty, $(uname -m)"
if [ "$without" = decord ]; then
  echo 'Decord uninstalled; the use side on mp4s instead of the tests'
else
  echo "Tests: $(echo $tests)"
fi
echo
[[ "${rows[*]}" == *'*'* ]] && echo "* no torchvision release for this torch yet: the previous one, installed with --no-deps"
echo '| Python | torch | torchvision | mmengine | result | time |'
echo '| --- | --- | --- | --- | --- | --- |'
printf '%s\n' "${rows[@]}"
exit $failed
