#!/usr/bin/env bash
# Testing on a Slurm cluster, one task per GPU; the metrics equal a single-process test's.
#
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py arguments]
#
# GPUS is the total number of tasks. GPUS_PER_NODE=0 runs CPU tasks (gloo), without --gres.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py arguments]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export MASTER_PORT=${MASTER_PORT:-$((12000 + RANDOM % 20000))}
GRES=()
TASKS_PER_NODE=$GPUS_PER_NODE
if [ "$GPUS_PER_NODE" -gt 0 ]; then GRES=(--gres=gpu:"$GPUS_PER_NODE"); else TASKS_PER_NODE=$GPUS; fi
# shellcheck disable=SC2086  # SRUN_ARGS holds several srun options
srun -p "$PARTITION" --job-name="$JOB_NAME" ${GRES[@]+"${GRES[@]}"} --ntasks="$GPUS" \
    --ntasks-per-node="$TASKS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher slurm "${@:5}"
