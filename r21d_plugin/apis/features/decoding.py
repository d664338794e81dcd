"""The loading side of a feature extraction: decoding processes that each prepare their
share of the videos' windows, and what their crash says."""
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch.utils.data import IterableDataset, get_worker_info

from ...data.decoders import TransientDecodeError
from ...data.samples import exception_summary
from ..video import VideoReadError
from .extractor import WindowPreparer, _window_batches

@dataclass
class _Windows:
    """What a loading worker hands the main process: windows of one video, or its failure."""

    job: int
    starts: List[int] = field(default_factory=list)
    inputs: Optional[Dict[str, torch.Tensor]] = None
    num_frames: int = 0
    fps: float = 0.0
    last: bool = False
    error: Optional[str] = None
    stop: Optional[TransientDecodeError] = None  # an error of the machine: the run stops
    decode_s: float = 0.0
    prepare_s: float = 0.0


class _VideoWindows(IterableDataset):
    """The loading side: each worker decodes and preprocesses its share of the videos
    (``jobs[worker::workers]``), one at a time, and yields their windows ``batch_size`` at
    a time; a video that cannot be read yields its failure. ``current[worker]`` is the video
    a worker is on, so that a worker's crash names the videos it may have crashed on."""

    def __init__(self, jobs: Sequence[Tuple[int, str, str]], preparer: WindowPreparer,
                 batch_size: int, current=None) -> None:
        self.jobs, self.preparer, self.batch_size = list(jobs), preparer, batch_size
        self.current = current

    def __iter__(self) -> Iterator[_Windows]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for job, path, name in self.jobs[worker::workers]:
            if self.current is not None:
                self.current[worker] = job
            yield from self._video(job, path, name)

    def _video(self, job: int, path: str, name: str) -> Iterator[_Windows]:
        try:
            tick = time.perf_counter()
            video = self.preparer.open(path, name)
            opened_s = time.perf_counter() - tick
            num_windows, done = len(self.preparer.starts(video.num_frames)), 0
            for starts, inputs, decode_s, prepare_s in _window_batches(
                    self.preparer, video, self.batch_size):
                done += len(starts)
                yield _Windows(job, starts, inputs, video.num_frames, video.info.fps,
                               last=done == num_windows, decode_s=decode_s + opened_s,
                               prepare_s=prepare_s)
                opened_s = 0.0
        except VideoReadError as exc:
            yield _Windows(job, error=exc.reason)
        except TransientDecodeError as exc:
            yield _Windows(job, stop=exc)
        except Exception as exc:  # a bad video fails alone; the message names the error
            yield _Windows(job, error=exception_summary(exc))


def loading_context() -> multiprocessing.context.BaseContext:
    """Loading workers fork from a fresh server process that imported this module once,
    not from the main process: a fork after OpenCV or OpenMP started threads can hang."""
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload([__name__])
    return context


def init_loading_worker(worker_id: int) -> None:
    import cv2
    cv2.setNumThreads(1)  # the workers fill the cores
    # Decoders print their own logs (ffmpeg's, decord's); the main process names each
    # failed video with its reason, so keep the terminal for that and the progress bar.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def dead_workers(items, wait_s: float = 5.0) -> Dict[int, int]:
    """Exit codes of the loader's dead worker processes (private to torch, hence looked up
    with care), by worker index; waits up to ``wait_s`` for a crashing one to be reaped."""
    workers = getattr(items, '_workers', [])
    deadline = time.monotonic() + wait_s
    while True:
        died = {index: process.exitcode for index, process in enumerate(workers)
                if process.exitcode}
        if died or time.monotonic() > deadline:
            return died
        time.sleep(0.05)


class _WorkerCrash(Exception):
    """A loading worker died (a decoder crashed in native code)."""

    def __init__(self, reason: str, suspects: Sequence[int]) -> None:
        super().__init__(reason)
        self.reason, self.suspects = reason, list(suspects)
