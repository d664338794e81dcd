#!/usr/bin/env bash
# torchrun of one of our tools, one process per GPU (or CPU processes with gloo when the
# machine has no GPU): what dist_train.sh, dist_test.sh and dist_extract_features.sh run.
#
#   bash tools/torchrun.sh GPUS TOOL TOOL_ARGUMENTS...   (TOOL: train.py, test.py or
#                                                        extract_features.py, whose arguments
#                                                        include --launcher pytorch)
#
# Several machines: run it on each with NNODES, NODE_RANK (0..NNODES-1), MASTER_ADDR (the
# address of node 0) and PORT set the same way everywhere. PYTHON picks the interpreter
# (default: the repository's .venv if there is one, else `python`).
set -euo pipefail
GPUS=$1
TOOL=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi
# The repository on PYTHONPATH, so the plugin imports even when it is not pip-installed
# (MMAction2's own dist_test.sh loses it behind a comment after a line continuation).
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# One check of the data and checkpoints (--dry-run) before any process starts: a missing
# or unreadable file stops the launch with the tool's short message and status 2, instead
# of torchrun's traceback about failed processes. (The processes that follow show the
# same warnings, so this check's are not shown.)
# (train and test have it; other tools check their inputs in every process themselves.)
case "$TOOL" in
  train.py|test.py) PYTHONWARNINGS=ignore "$PYTHON" "$ROOT/tools/$TOOL" "${@:3}" --dry-run >/dev/null ;;
esac
# torchrun through r21d_plugin.engine.torchrun: SIGTERM / SIGUSR1 reach the workers, which
# save and exit 75 (PreemptionHook), and the launcher then exits 75 too (plain torchrun
# exits 1 and kills the workers 30 s after a signal).
exec "$PYTHON" -m r21d_plugin.engine.torchrun --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" --nproc_per_node="$GPUS" \
    "$ROOT/tools/$TOOL" "${@:3}"
