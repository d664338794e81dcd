#!/usr/bin/env bash
# Distributed training with torchrun, one process per GPU (or CPU processes with gloo when
# the machine has no GPU).
#
#   bash tools/dist_train.sh CONFIG GPUS [tools/train.py arguments]
#
# Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT (see tools/torchrun.sh).
# Preemption: SIGTERM or SIGUSR1 to this script (or to the workers) saves preempted.pth and
# the script exits 75, for the job script to requeue (docs/reliability.md).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py arguments]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/torchrun.sh" "$2" train.py "$1" --launcher pytorch "${@:3}"
