"""Peak memory of tools/extract_features.py on long videos (docs/feature_extraction.md,
"Memory"; speed is the benchmark's use side).

    python tools/analysis/generate_long_video.py 2min.mp4 --minutes 2
    python tools/analysis/feature_extraction_memory.py CONFIG 2min.mp4 20min.mp4 [--stride S]

The network keeps its initial weights (memory does not depend on them).
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

from r21d_plugin.apis.loading import load_model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


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
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('videos', nargs='+')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--stride', type=int)
    memory(parser.parse_args())


if __name__ == '__main__':
    main()
