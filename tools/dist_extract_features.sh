#!/usr/bin/env bash
# Feature extraction with torchrun, one process per GPU (or CPU processes with gloo when the
# machine has no GPU): rank r extracts videos r, r + GPUS, ... and rank 0 writes the index.
#
#   bash tools/dist_extract_features.sh CONFIG CHECKPOINT SRC OUT GPUS [extract_features.py arguments]
#
# Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT (see tools/torchrun.sh).
set -euo pipefail
if [ $# -lt 5 ]; then
    echo "usage: $0 CONFIG CHECKPOINT SRC OUT GPUS [extract_features.py arguments]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/torchrun.sh" "$5" extract_features.py "$1" "$2" "$3" "$4" \
    --launcher pytorch "${@:6}"
