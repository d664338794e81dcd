"""An exported network in each CPU runtime beside PyTorch, with and without the CPU
allocator setting, on the same clips, timed round-robin.

The allocator setting (``engine.cpu_memory``) is process-wide and cannot be undone, so each
setting compared gets a process of its own (``spawn``: a fresh interpreter, glibc's malloc
as a plain Python process has it, or kept freed memory as our tools set it). Each process
holds every runtime: PyTorch as the plugin runs the recognizer (fast paths on, the config's
memory format; float32, and bf16 autocast when asked), the file in ONNX Runtime (CPU
execution provider, its threads not spinning after a run) and OpenVINO (float32; and
bfloat16 where the CPU has bfloat16 instructions and bf16 is asked for), or as TorchScript.
This process sends "run step k" to one process at a time, and ``interleaved_timings`` times
every (setting, runtime) step round-robin, so that load from other work hits all alike.
"""
import logging
import multiprocessing
import os
import os.path as osp
import statistics
import tempfile
import traceback
from typing import Callable, Dict, List, Optional, Sequence

import torch
from mmengine.config import Config

from ..apis.export import ExportError
from ..engine.cpu_memory import OPT_OUT_VARIABLE, keep_freed_memory, keeps_freed_memory
from .timing import interleaved_timings

#: ``cpu_malloc`` settings -> how rows name them.
MALLOC_NAMES = {'keep': 'keeps freed memory', 'default': 'glibc defaults'}


def _steps(job: dict) -> Dict[str, Callable[[], object]]:
    """The runtimes of one process, each a call on the same clips."""
    from ..apis.export import exported_runner, pytorch_scores, random_clips
    from ..apis.loading import load_model
    from ..apis.runtimes import installed_runtimes, onnx_runner
    from ..engine.device import autocast
    from ..models.fast_paths import cpu_has_bfloat16_kernels

    # the recognizer the file was exported from, as the plugin runs it (float32)
    recognizer = load_model(Config(job['cfg']), job['weights'], 'cpu', compute_dtype=None)
    clips = random_clips(job['spec'], job['batch_size'])
    steps = {'pytorch float32': lambda: pytorch_scores(recognizer, clips)}
    if job['bf16']:
        def bf16() -> torch.Tensor:
            with autocast('cpu', 'bf16'):
                return pytorch_scores(recognizer, clips)
        steps['pytorch bf16 autocast'] = bf16
    if job['format'] != 'onnx':
        run = exported_runner(job['path'], job['format'])
        steps[job['format']] = lambda: run(clips)
        return steps
    precisions = dict(onnxruntime=[None], openvino=['float32'])
    if job['bf16'] and cpu_has_bfloat16_kernels():
        precisions['openvino'].append('bfloat16')
    for runtime in installed_runtimes():
        for precision in precisions[runtime]:
            run_file = onnx_runner(job['path'], runtime, precision=precision or 'float32')
            name = runtime if precision is None else f'{runtime} {precision}'
            steps[name] = lambda run_file=run_file: run_file(clips)
    return steps


def _serve(connection, cpu_malloc: str, threads: int, job: dict) -> None:
    """A timing process: set the allocator and threads, build the steps, run them on
    request (``None`` ends it)."""
    try:
        if cpu_malloc == 'default':
            os.environ[OPT_OUT_VARIABLE] = 'default'
        else:
            keep_freed_memory()
        torch.set_num_threads(threads)
        from mmengine.logging import MMLogger
        MMLogger.get_current_instance().setLevel(logging.WARNING)  # no loading notices
        steps = _steps(job)
        connection.send(('ready', list(steps), MALLOC_NAMES['keep'] if keeps_freed_memory()
                         else MALLOC_NAMES['default']))
        while True:
            name = connection.recv()
            if name is None:
                return
            with torch.no_grad():
                steps[name]()
            connection.send(('done', ))
    except Exception:  # reported to the timing process, which raises it
        connection.send(('error', traceback.format_exc()))


class _TimingProcess:
    """One ``_serve`` process and its steps, called from this process."""

    def __init__(self, context, cpu_malloc: str, threads: int, job: dict) -> None:
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, cpu_malloc, threads, job),
                                       daemon=True)
        self.process.start()
        theirs.close()

    def _receive(self) -> tuple:
        try:
            message = self.connection.recv()
        except EOFError:
            self.process.join()
            raise RuntimeError(f'a timing process died (exit code {self.process.exitcode})'
                               ) from None
        if message[0] == 'error':
            raise RuntimeError(f'a timing process failed:\n{message[1]}')
        return message

    def ready(self) -> tuple:
        _, names, malloc = self._receive()
        return names, malloc

    def step(self, name: str) -> Callable[[], None]:
        def call() -> None:
            self.connection.send(name)
            self._receive()
        return call

    def close(self) -> None:
        if self.process.is_alive():
            try:
                self.connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def compare_runtimes(cfg: Config, result, batch_sizes: Sequence[int] = (1, ),
                     warmup: int = 2, iters: int = 5, bf16: bool = False,
                     cpu_mallocs: Sequence[str] = ('keep', ),
                     threads: Optional[int] = None) -> List[dict]:
    """Inference clips/s of PyTorch and of an exported file's runtimes, per allocator
    setting, on the same clips, timed round-robin in one run (module docstring).

    Args:
        cfg (Config): the config the file was exported from.
        result (ExportResult): what ``export_recognizer`` returned (its recognizer's weights
            are the ones PyTorch runs).
        batch_sizes (Sequence[int]): clips per call (a fixed-batch file: its batch only).
        warmup (int): untimed calls of each step first. Default: 2.
        iters (int): timed calls of each step. Default: 5.
        bf16 (bool): add PyTorch under bf16 autocast, and OpenVINO in bfloat16 where the
            CPU has bfloat16 instructions. Default: False.
        cpu_mallocs (Sequence[str]): ``'keep'`` (freed memory kept for reuse, as our tools
            run) and / or ``'default'`` (glibc's defaults). Default: ('keep', ).
        threads (int, optional): torch's and the runtimes' threads. Default: torch's count
            here.

    Returns:
        list[dict]: per batch size, setting and runtime: ``runtime``, ``cpu_malloc`` (the
        setting in effect in its process), ``batch_size``, ``clips_per_s`` and ``step_s``
        (median seconds per call).

    Raises:
        ExportError: a batch size a fixed-batch file does not take.
        ValueError: an unknown allocator setting.
    """
    fixed = result.spec.batch_size
    if fixed is not None and set(batch_sizes) != {fixed}:
        raise ExportError(f'{result.path} takes batches of {fixed} clips only, not '
                         f'{sorted(set(batch_sizes) - {fixed})}')
    unknown = [name for name in cpu_mallocs if name not in MALLOC_NAMES]
    if unknown:
        raise ValueError(f'cpu_mallocs must be among {list(MALLOC_NAMES)}, got {unknown}')
    context = multiprocessing.get_context('spawn')
    threads = threads or torch.get_num_threads()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        weights = osp.join(directory, 'weights.pth')  # the recognizer's, for the processes
        torch.save(dict(state_dict=result.recognizer.state_dict()), weights)
        for batch_size in batch_sizes:
            job = dict(cfg=cfg.to_dict(), weights=weights, path=result.path,
                       format=result.format, spec=result.spec, batch_size=batch_size,
                       bf16=bf16)
            processes = [_TimingProcess(context, malloc, threads, job)
                         for malloc in cpu_mallocs]
            try:
                labels, steps = [], []
                for process in processes:
                    names, malloc = process.ready()
                    labels += [(name, malloc) for name in names]
                    steps += [process.step(name) for name in names]
                timings = interleaved_timings(steps, [False] * len(steps),
                                              torch.device('cpu'), warmup, iters)
            finally:
                for process in processes:
                    process.close()
            for (runtime, malloc), timing in zip(labels, timings):
                step_s = statistics.median(timing['seconds'])
                rows.append(dict(runtime=runtime, cpu_malloc=malloc, batch_size=batch_size,
                                 clips_per_s=batch_size / step_s, step_s=step_s))
    return rows


def format_runtimes(rows: List[dict]) -> List[str]:
    """``compare_runtimes``' rows as a Markdown table, each against PyTorch float32 with
    the same allocator setting and batch size."""
    base = {(row['batch_size'], row['cpu_malloc']): row['clips_per_s'] for row in rows
            if row['runtime'] == 'pytorch float32'}
    lines = ['| runtime | malloc | batch | clips/s | s/call | x PyTorch float32 |',
             '|---|---|---|---|---|---|']
    lines += [f"| {row['runtime']} | {row['cpu_malloc']} | {row['batch_size']} | "
              f"{row['clips_per_s']:.3g} | {row['step_s']:.3g} | "
              f"{row['clips_per_s'] / base[row['batch_size'], row['cpu_malloc']]:.2f} |"
              for row in rows]
    return lines
