#!/usr/bin/env bash
# Feature extraction on a Slurm cluster, one task per GPU: task r extracts videos r,
# r + GPUS, ... and task 0 writes the index.
#
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       bash tools/slurm_extract_features.sh PARTITION JOB_NAME CONFIG CHECKPOINT SRC OUT \
#       [extract_features.py arguments]
#
# GPUS is the total number of tasks. GPUS_PER_NODE=0 runs CPU tasks (gloo), without --gres.
set -euo pipefail
if [ $# -lt 6 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT SRC OUT [extract_features.py arguments]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/srun.sh" "$1" "$2" extract_features.py "$3" "$4" "$5" "$6" \
    --launcher slurm "${@:7}"
