#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU.
#
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [tools/train.py arguments]
#
# GPUS is the total number of tasks. GPUS_PER_NODE=0 runs CPU tasks (gloo), without --gres.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [train.py arguments]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/srun.sh" "$1" "$2" train.py "$3" --launcher slurm "${@:4}"
