#!/usr/bin/env bash
# srun of one of our tools on a Slurm cluster, one task per GPU: what slurm_train.sh,
# slurm_test.sh and slurm_extract_features.sh run.
#
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       bash tools/srun.sh PARTITION JOB_NAME TOOL TOOL_ARGUMENTS...
#
# TOOL is train.py, test.py or extract_features.py, whose arguments include --launcher slurm. GPUS is the total
# number of tasks. GPUS_PER_NODE=0 runs CPU tasks (gloo), without --gres.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
TOOL=$3
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
exec srun -p "$PARTITION" --job-name="$JOB_NAME" ${GRES[@]+"${GRES[@]}"} --ntasks="$GPUS" \
    --ntasks-per-node="$TASKS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/$TOOL" "${@:4}"
