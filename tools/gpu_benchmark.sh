#!/usr/bin/env bash
# GPU throughput of our R(2+1)D-18 against MMAction2's ResNet2Plus1d (and torchvision's
# r2plus1d_18): training step and 10-clip test, float32 / fp16 / bf16 autocast, contiguous
# and channels_last_3d, cudnn.benchmark on; then the data pipeline at the config's worker
# count; then the use side (the inference tool's videos/s, timeline and feature-extraction
# windows/s of the published R(2+1)D-18 and -34 configs, and per video decoder: PyAV and
# torchcodec on the CPU against torchcodec's CUDA decoding). At most about 7 minutes: each
# step has its own time limit (a step cut short loses only itself; the others and the log
# are kept).
#
# Usage, from the repository root on the GPU machine:
#     OUT=/path/to/results bash tools/gpu_benchmark.sh
# Needs python3 with a CUDA torch and torchvision. MMAction2's stack is installed from the
# wheels in .whl/ when that folder exists (no network needed): mmaction2 1.2.0, mmengine
# 0.10.7, mmcv-lite 2.1.0, decord 0.6.0, addict, yapf, platformdirs, termcolor,
# importlib_metadata<8.8 (8.8 and later need lazy_importer, which the GPU image lacks),
# zipp, setuptools<82 (see docs/performance.md). For the decoder rows, also av and
# torchcodec's CUDA build paired with the machine's torch (torchcodec loads FFmpeg's shared
# libraries from the system: without them its rows say it does not import).
# Writes to $OUT: environment.txt, gpu_benchmark.log, and per step a .json and a .md.
# Variables: PYTHON (python3), DEVICE (cuda), QUICK=1 (tiny sizes: checks the script).
set -u -o pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-work_dirs/gpu_benchmark}
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
mkdir -p "$OUT"
LOG="$OUT/gpu_benchmark.log"
log() { echo "[$(date +%T)] $*" | tee -a "$LOG"; }

log "repository $(pwd), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

{
    nvidia-smi 2>&1 || echo 'nvidia-smi: not available'
    nproc
    "$PYTHON" -c 'import sys, torch; print(sys.version); print("torch", torch.__version__,
"cuda", torch.version.cuda, "available", torch.cuda.is_available());
torch.cuda.is_available() and print(torch.cuda.get_device_name(0))'
} >"$OUT/environment.txt" 2>&1

if compgen -G '.whl/*.whl' >/dev/null; then
    log 'installing the carried wheels into /tmp/r21d_site'
    if "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/r21d_site .whl/*.whl >>"$LOG" 2>&1; then
        export PYTHONPATH=/tmp/r21d_site${PYTHONPATH:+:$PYTHONPATH}
    else
        log 'wheel install FAILED (see above); trying the installed packages'
    fi
fi
export PYTHONPATH=$(pwd)${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1

if ! "$PYTHON" -c 'import r21d_plugin, mmaction.models, torchvision' >>"$LOG" 2>&1; then
    log 'cannot import r21d_plugin with MMAction2 and torchvision: see the log above'
    exit 1
fi

if [ "$QUICK" = 1 ]; then
    SIZE=(--depth 10 --base-channels 8 --clip-len 4 --crop-size 32 --batch-size 2
          --warmup 1 --iters 1 --test-clips 2 --test-videos 1)
    DATA=(--clip-len 4 --batch-size 2 --pipeline-videos 2 --video-size 64 --video-frames 40
          --pipeline-batches 1 --workers 1)
    USE=(--use-config configs/demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py
         --use-seconds 1 --warmup 1 --iters 1)
    LIMITS=(120 120 60 120 120)
else
    # 32 clips per GPU (the paper's batch); 8 videos x 10 clips per test batch.
    SIZE=(--clip-len 16 --batch-size 32 --warmup 2 --iters 6 --test-clips 10
          --test-videos 8)
    DATA=(--clip-len 16 --batch-size 32 --pipeline-videos 16 --video-size 256
          --video-frames 240 --pipeline-batches 6)
    USE=(--use-seconds 10 --warmup 2 --iters 3)
    LIMITS=(125 70 40 45 150)
fi

FAILED=0
step() {  # step NAME LIMIT ARGS...: one benchmark run, its table in NAME.md
    local name=$1 limit=$2
    shift 2
    log "step $name (at most ${limit}s): tools/benchmark.py $*"
    timeout --kill-after=10 "$limit" "$PYTHON" tools/benchmark.py --device "$DEVICE" \
        --no-progress --json "$OUT/$name.json" "$@" >"$OUT/$name.md" 2>>"$LOG"
    local status=$?
    if [ $status -ne 0 ]; then
        FAILED=1
        log "step $name FAILED (exit $status; 124: time limit); partial JSON kept"
    fi
    log "step $name done"
}

# 1. Ours against MMAction2's R(2+1)D, training and 10-clip test: float32 and fp16
#    autocast, contiguous and channels_last_3d (ours: default switches and plain path) ...
step r2plus1d18_vs_mmaction2_fp16 "${LIMITS[0]}" --network 'R(2+1)D' "${SIZE[@]}" \
    --amp fp16 --channels-last --peers mmaction2 --no-pipeline --no-use-side
# 2. ... and in bf16 autocast.
step r2plus1d18_vs_mmaction2_bf16 "${LIMITS[1]}" --network 'R(2+1)D' "${SIZE[@]}" \
    --amp bf16 --channels-last --peers mmaction2 --no-plain --no-pipeline --no-use-side
# 3. The data pipeline (decode + augment) at the config's default worker count.
step data_pipeline "${LIMITS[2]}" --no-models --no-use-side "${DATA[@]}"
# 4. Ours against torchvision's r2plus1d_18 (and ours with its exact architecture).
step r2plus1d18_vs_torchvision "${LIMITS[3]}" --network 'R(2+1)D' "${SIZE[@]}" \
    --amp fp16 --peers torchvision --no-plain --test-clips 0 --no-pipeline --no-use-side

# 5. The use side: tools/infer.py's videos/s (10 clips in one batch), timeline and feature
#    extraction windows/s, float32 and fp16 / bf16 autocast (ONNX Runtime: CPU only); per
#    decoder, decoding alone and feature extraction: torchcodec's CUDA decoding (NVDEC)
#    against PyAV and torchcodec on the CPU.
step use_side "${LIMITS[4]}" --no-models --no-pipeline --amp fp16 bf16 "${USE[@]}" \
    --decoders pyav torchcodec torchcodec-cuda

log "finished; failures: $FAILED"
cat "$OUT"/*.md
exit $FAILED
