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
exec bash "$(dirname "$0")/srun.sh" "$1" "$2" test.py "$3" "$4" --launcher slurm "${@:5}"
