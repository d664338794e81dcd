"""Timing primitives: interleaved timings, FLOPs, peak memory and the machine's peak."""
import gc
import re
import resource
import time
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..engine.cpu_memory import keeps_freed_memory
from ..models.fast_paths import cpu_has_bfloat16_kernels


class PeakMemory:
    """Peak memory above the level at ``start()``, in MiB.

    On CPU it is the growth of the resident size, which says nothing once malloc keeps
    freed memory (earlier steps already hold the heap): then ``peak_mib`` is None.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._base = 0

    @staticmethod
    def _status_kib(key: str) -> Optional[int]:
        try:
            with open('/proc/self/status') as f:
                match = re.search(rf'^{key}:\s+(\d+) kB', f.read(), re.M)
        except OSError:
            return None
        return int(match.group(1)) if match else None

    def start(self) -> None:
        gc.collect()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            return
        self._resettable = True
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets VmHWM to the current resident size
        except OSError:
            self._resettable = False
        rss = self._status_kib('VmRSS')
        if self._resettable and rss is not None:
            self._base = rss * 1024
        else:  # ru_maxrss only grows: a delta is a lower bound after an earlier peak
            self._base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def peak_mib(self) -> Optional[float]:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif keeps_freed_memory():
            return None
        elif self._resettable and self._status_kib('VmHWM') is not None:
            peak = self._status_kib('VmHWM') * 1024
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return max(peak - self._base, 0) / 2**20


def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def interleaved_timings(steps: Sequence[Callable[[], None]], count_flops: Sequence[bool],
                        device: torch.device, warmup: int,
                        iters: int) -> List[Dict[str, object]]:
    """Time several steps round-robin: ``iters`` rounds, each step once per round, every
    other round in reverse order.

    On a machine shared with other work, load changes then hit every step alike, so their
    ratios hold even when absolute figures drift; reversing the order cancels what a step
    inherits from the one before it (a heap or caches left in another model's state). Each
    step is first warmed up ``warmup`` times, its first call under a FLOP counter where
    ``count_flops`` says so. Returns, per step, the wall and process CPU seconds of each
    timed call, the first call's seconds (compile time, cudnn autotuning), the FLOPs of one
    call (None if not counted) and the peak memory of the timed calls.
    """
    timings = []
    for step, count in zip(steps, count_flops):
        counter = FlopCounterMode(display=False)
        start = time.perf_counter()
        with counter if count else nullcontext():
            step()
        sync(device)
        first_call_s = time.perf_counter() - start
        for _ in range(warmup - 1):
            step()
        timings.append(dict(seconds=[], cpu_seconds=[], first_call_s=first_call_s,
                            flops=counter.get_total_flops() if count else None,
                            peak_mib=0.0))
    memory = PeakMemory(device)
    for round_index in range(iters):
        order = list(zip(steps, timings))
        for step, timing in order if round_index % 2 == 0 else reversed(order):
            memory.start()
            start, cpu_start = time.perf_counter(), time.process_time()
            step()
            sync(device)
            timing['seconds'].append(time.perf_counter() - start)
            timing['cpu_seconds'].append(time.process_time() - cpu_start)
            peak = memory.peak_mib()
            timing['peak_mib'] = None if peak is None else max(timing['peak_mib'], peak)
    return timings


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return (ordered[middle] if len(ordered) % 2
            else (ordered[middle - 1] + ordered[middle]) / 2)


def summarise(timing: Dict[str, object], clips: int, peak_gflops: float) -> Dict[str, object]:
    step_s = median(timing['seconds'])
    gflops = timing['flops'] / step_s / 1e9
    return dict(
        clips_per_s=clips / step_s, step_s=step_s, seconds=timing['seconds'],
        cpu_seconds=timing['cpu_seconds'],
        clips_per_cpu_s=clips / median(timing['cpu_seconds']),
        first_call_s=timing['first_call_s'], gflop_per_clip=timing['flops'] / clips / 1e9,
        gflops=gflops, fraction_of_peak=gflops / peak_gflops, peak_mib=timing['peak_mib'])


def measure_peak(device: torch.device, dtype: torch.dtype, repeats: int = 3) -> dict:
    """GFLOP/s of a large matmul and of a large 3x3x3 conv (channels_last_3d); the best.

    A CPU without oneDNN bfloat16 kernels runs bfloat16 through reference kernels (minutes
    at these sizes): there only a 512 x 512 matmul is timed (``conv3d_gflops`` None).
    """
    emulated = (device.type == 'cpu' and dtype == torch.bfloat16
                and not cpu_has_bfloat16_kernels())
    if device.type == 'cuda':
        n, conv_shape = 8192, (16, 256, 16, 28, 28)
    elif emulated:
        n, conv_shape = 512, (1, 1, 1, 1, 1)
    else:
        n, conv_shape = 2048, (4, 128, 8, 28, 28)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    x = torch.randn(conv_shape, device=device, dtype=dtype).contiguous(
        memory_format=torch.channels_last_3d)
    channels = conv_shape[1]
    w = torch.randn(channels, channels, 3, 3, 3, device=device, dtype=dtype)
    conv_flops = 2 * x.numel() * channels * 27

    def best(fn: Callable[[], object], flops: float) -> float:
        with torch.no_grad():
            fn()
            sync(device)
            fastest = float('inf')
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                sync(device)
                fastest = min(fastest, time.perf_counter() - start)
        return flops / fastest / 1e9

    matmul = best(lambda: a @ b, 2 * n**3)
    if emulated:
        return dict(matmul_gflops=matmul, conv3d_gflops=None, peak_gflops=matmul)
    conv = best(lambda: F.conv3d(x, w, padding=1), conv_flops)
    return dict(matmul_gflops=matmul, conv3d_gflops=conv, peak_gflops=max(matmul, conv))
