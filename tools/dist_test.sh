#!/usr/bin/env bash
# Distributed testing with torchrun; gives exactly the metrics of a single-process test.
#
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py arguments]
#
# Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT (see tools/torchrun.sh).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py arguments]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/torchrun.sh" "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"
