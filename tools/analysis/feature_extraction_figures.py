"""The feature extractor's speed and memory figures (docs/feature_extraction.md).

    # windows/s and where the time goes, R(2+1)D-18 (16 frames) and -34 (32 frames):
    python tools/analysis/feature_extraction_figures.py speed --video V.mp4 [--amp none bf16]
    # peak memory of tools/extract_features.py on each video (generate_long_video.py):
    python tools/analysis/feature_extraction_figures.py memory CONFIG V2.mp4 V20.mp4 [--stride S]

The networks keep their initial weights (speed and memory do not depend on them).
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List

import torch

from r21d_plugin.apis.features import load_model, measure_extraction

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NETWORKS = {
    'R(2+1)D-18, 16 frames': 'configs/kinetics/r2plus1d_r18_8xb32-16x1x1-45e_kinetics400-rgb.py',
    'R(2+1)D-34, 32 frames': 'configs/kinetics/r2plus1d_r34_8xb32-32x1x1-45e_kinetics400-rgb.py',
}


def speed(args: argparse.Namespace) -> None:
    print(f'{args.video}, batch {args.batch_size}, {torch.get_num_threads()} threads, '
          f'workers {args.workers}')
    print('| network | dtype | windows | windows/s | network alone, windows/s | decode | '
          'preprocess | network |')
    print('|---|---|---|---|---|---|---|---|')
    for name in args.networks:
        config = NETWORKS[name]
        for amp in args.amp:
            row = measure_extraction(osp.join(REPO, config), args.video,
                                     amp=None if amp == 'none' else amp,
                                     batch_size=args.batch_size, workers=args.workers)
            print(f'| {name} | {"float32" if amp == "none" else amp} | {row["windows"]} | '
                  f'{row["windows_per_s"]:.2f} | {row["model_windows_per_s"]:.2f} | '
                  f'{100 * row["decode_share"]:.0f}% | {100 * row["prepare_share"]:.0f}% | '
                  f'{100 * row["model_share"]:.0f}% |', flush=True)


def _descendants(root: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open(f'/proc/{name}/stat') as f:
                    parent = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _pss_kib(pid: int) -> int:
    """Proportional set size: shared pages counted once over the processes sharing them."""
    try:
        with open(f'/proc/{pid}/smaps_rollup') as f:
            return next(int(line.split()[1]) for line in f if line.startswith('Pss:'))
    except (OSError, StopIteration):
        return 0


def memory(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = osp.join(scratch, 'initial.pth')
        torch.save({'state_dict': load_model(args.config, None).state_dict()}, checkpoint)
        print('| video | windows | peak RSS, main process | peak PSS, all processes | wall |')
        print('|---|---|---|---|---|')
        for video in args.videos:
            out = osp.join(scratch, osp.splitext(osp.basename(video))[0])
            command = [sys.executable, osp.join(REPO, 'tools/extract_features.py'),
                       args.config, checkpoint, video, out, '--no-progress',
                       '--workers', str(args.workers)] + (
                           ['--stride', str(args.stride)] if args.stride else [])
            start = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            peak = [0]

            def sample():
                while process.poll() is None:
                    peak[0] = max(peak[0], sum(_pss_kib(pid)
                                               for pid in _descendants(process.pid)))
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            sampler.join()
            with open(osp.join(out, 'index.csv')) as f:
                windows = f.read().splitlines()[1].split(',')[4]
            print(f'| {osp.basename(video)} | {windows} | {usage.ru_maxrss / 1024:.0f} MiB | '
                  f'{peak[0] / 1024:.0f} MiB | {time.perf_counter() - start:.0f} s |',
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest='command', required=True)
    parser_speed = commands.add_parser('speed', help='windows/s and time shares')
    parser_speed.add_argument('--video', required=True)
    parser_speed.add_argument('--amp', nargs='+', default=['none', 'bf16'],
                              choices=['none', 'bf16', 'fp16'])
    parser_speed.add_argument('--networks', nargs='+', default=list(NETWORKS),
                              choices=list(NETWORKS))
    parser_speed.add_argument('--batch-size', type=int, default=8)
    parser_speed.add_argument('--workers', type=int, default=0)
    parser_memory = commands.add_parser('memory', help='peak memory per video')
    parser_memory.add_argument('config')
    parser_memory.add_argument('videos', nargs='+')
    parser_memory.add_argument('--workers', type=int, default=2)
    parser_memory.add_argument('--stride', type=int)
    args = parser.parse_args()
    speed(args) if args.command == 'speed' else memory(args)


if __name__ == '__main__':
    main()
