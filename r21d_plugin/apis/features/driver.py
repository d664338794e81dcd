"""The multi-rank driver of a feature extraction: every video of SRC into OUT, resumable,
a bad video failing alone, ranks sharing the videos."""
import os
import os.path as osp
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch.distributed as dist
from torch.utils.data import DataLoader
from tqdm import tqdm

from ...data.annotations import shown_name
from ...data.prep.isolated_pool import crash_reason
from ...data.prep.paths import safe_output_path
from ...engine.checkpoint import remove_partial_writes
from ..video import VideoReadError, window_span
from .decoding import (dead_workers, init_loading_worker, loading_context, _VideoWindows,
                       _Windows, _WorkerCrash)
from .extractor import FeatureExtractor
from .inputs import VideoJob, list_videos
from .store import (INDEX_COLUMNS, INDEX_FILE, FeatureFile, OutputInUseError, check_settings,
                    exclusive_out, read_index, write_index)

#: Collectives wait for the slowest rank, which may have hours of video more to go.
DISTRIBUTED_TIMEOUT_S = 7 * 24 * 3600


@dataclass
class ExtractionReport:
    """What one run (all ranks) did.

    ``done`` / ``skipped``: names of the videos extracted now / found finished; ``failed``:
    name -> reason; ``timing``: seconds spent decoding, preprocessing and in the networks
    (summed over loading workers and ranks), windows extracted, and the wall time.
    """

    done: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)
    index_file: Optional[str] = None
    timing: Dict[str, float] = field(default_factory=lambda: dict(
        decode_s=0.0, prepare_s=0.0, model_s=0.0, windows=0, wall_s=0.0))

    def summary(self) -> str:
        total = len(self.done) + len(self.skipped) + len(self.failed)
        return (f'{len(self.done)} done, {len(self.skipped)} skipped as finished, '
                f'{len(self.failed)} failed (of {total} videos); index: {self.index_file}')


class _Run:
    """One rank's extraction of its share of the videos into OUT."""

    def __init__(self, extractor: FeatureExtractor, out: str, jobs: List[VideoJob],
                 batch_size: int, workers: int, progress: bool) -> None:
        self.extractor, self.out, self.jobs = extractor, out, jobs
        self.batch_size, self.workers = batch_size, workers
        self.rows: Dict[int, dict] = {}
        self.settled = set()  # jobs done or failed
        self.report = ExtractionReport()
        self.files: Dict[int, FeatureFile] = {}
        self.bar = tqdm(total=len(jobs), unit='video', desc='features', disable=not progress)

    def row(self, job: int, num_frames: int, fps: float) -> dict:
        starts = self.extractor.preparer.starts(num_frames)
        return dict(video=self.jobs[job].name, features=self.jobs[job].features,
                    frames=num_frames, fps=f'{fps:.6g}', windows=len(starts),
                    first_start=starts[0], last_start=starts[-1],
                    stride=self.extractor.preparer.stride,
                    span=window_span(self.extractor.preparer.frames_per_window,
                                     self.extractor.preparer.frame_interval),
                    layer=self.extractor.layer)

    def _fail(self, job: int, reason: str) -> None:
        if job in self.files:
            self.files.pop(job).abort()
        self.report.failed[self.jobs[job].shown] = reason
        self.settled.add(job)
        self.bar.write(f'FAILED {shown_name(self.jobs[job].path)}: {reason}')
        self.bar.update()

    def _write(self, item: _Windows) -> None:
        if item.job not in self.files:
            self.files[item.job] = FeatureFile(
                osp.join(self.out, self.jobs[item.job].features),
                len(self.extractor.preparer.starts(item.num_frames)))
        tick = time.perf_counter()
        features = self.extractor(item.inputs).numpy()
        self.report.timing['model_s'] += time.perf_counter() - tick
        self.report.timing['windows'] += len(item.starts)
        self.files[item.job].write(features)
        if item.last:
            self.files.pop(item.job).finish()
            self.rows[item.job] = self.row(item.job, item.num_frames, item.fps)
            self.report.done.append(self.jobs[item.job].name)
            self.settled.add(item.job)
            self.bar.update()

    def _loader(self, jobs: List[int], workers: int, current) -> DataLoader:
        dataset = _VideoWindows([(job, self.jobs[job].path, self.jobs[job].name)
                                 for job in jobs], self.extractor.preparer,
                                self.batch_size, current)
        if not workers:
            return DataLoader(dataset, batch_size=None)
        return DataLoader(dataset, batch_size=None, num_workers=workers,
                          multiprocessing_context=loading_context(),
                          worker_init_fn=init_loading_worker, prefetch_factor=2)

    def _pass(self, jobs: List[int], workers: int) -> None:
        """Extract ``jobs``; raise _WorkerCrash if a loading worker dies."""
        workers = min(workers, len(jobs))
        context = loading_context()
        current = context.Array('l', [-1] * workers, lock=False) if workers else None
        items = iter(self._loader(jobs, workers, current))
        try:
            for item in items:
                self.report.timing['decode_s'] += item.decode_s
                self.report.timing['prepare_s'] += item.prepare_s
                if item.stop is not None:
                    raise item.stop
                if item.error is None:
                    self._write(item)
                else:
                    self._fail(item.job, item.error)
        except (RuntimeError, ConnectionError, EOFError) as exc:
            # torch reports a dead worker as a RuntimeError; one that died while the main
            # process fetched a batch it had shared breaks that connection instead.
            if isinstance(exc, RuntimeError) and not str(exc).startswith('DataLoader worker'):
                raise
            died = dead_workers(items)
            suspects = [current[index] for index in (died or range(workers))]
            reason = (crash_reason(next(iter(died.values()))) if died
                      else f'the decoding process died ({exc})')
            raise _WorkerCrash(reason, [job for job in suspects if job >= 0]) from None
        finally:
            for job in list(self.files):  # interrupted videos leave no file behind
                self.files.pop(job).abort()

    def extract(self, jobs: List[int]) -> None:
        """Extract ``jobs``. A worker crash fails no video by itself: the videos the workers
        were on are retried one by one in a worker of their own (a crash there fails that
        video, named), and the others go on in a new pool."""
        queue, alone = list(jobs), []
        while queue or alone:
            isolated = bool(alone)
            if isolated:
                batch, workers = [alone.pop(0)], 1
            else:
                batch, workers, queue = queue, self.workers, []
            try:
                self._pass(batch, workers)
            except _WorkerCrash as crash:
                if isolated:
                    self._fail(batch[0], crash.reason)
                    continue
                unfinished = [job for job in batch if job not in self.settled]
                if not set(unfinished) & set(crash.suspects):
                    raise RuntimeError(f'a loading worker died before reading any video: '
                                       f'{crash.reason}') from None
                alone += [job for job in unfinished if job in crash.suspects]
                queue = [job for job in unfinished if job not in crash.suspects] + queue


def _gather(value):
    """``[value of every rank]`` (just ``[value]`` outside a distributed run)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [value]
    values = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


def extract_features(extractor: FeatureExtractor, src: str, out: str,
                     video_root: Optional[str] = None, batch_size: int = 8, workers: int = 2,
                     progress: bool = True, names: Optional[Dict[str, str]] = None
                     ) -> ExtractionReport:
    """Extract the features of every video of ``src`` into ``out`` (layout: module doc).

    Resumable and safe: each video's file is written under a temporary name and renamed
    when complete, so a killed run leaves no file that looks finished, and a rerun skips
    the finished ones; a video that cannot be read is named with its reason and the others
    go on. In a distributed run (``torch.distributed`` initialised, e.g. by
    ``tools/dist_extract_features.sh``) rank ``r`` takes the videos ``r, r + world_size, ...``
    and rank 0 writes the index once every rank has finished.

    Args:
        extractor (FeatureExtractor): the networks, layer and windows.
        src (str): a video file, a folder of videos, or a ``VideoDataset`` annotation file.
        out (str): the output folder.
        video_root (str, optional): the folder an annotation's paths are relative to.
            Default: the annotation file's folder.
        batch_size (int): windows per forward pass. Default: 8.
        workers (int): decoding processes per rank; 0 decodes in this process (a decoder
            crash then ends the run). Default: 2.
        progress (bool): a progress bar (rank 0). Default: True.
        names (dict, optional): what ``settings.json`` records as the model files (e.g.
            ``config``, ``checkpoint``); a rerun must name the same. Default: none.

    Returns:
        ExtractionReport: every rank's videos; ``index_file`` is ``OUT/index.csv``.
    """
    start = time.perf_counter()
    rank, world_size = ((dist.get_rank(), dist.get_world_size())
                        if dist.is_available() and dist.is_initialized() else (0, 1))
    jobs = list_videos(src, video_root)
    with ExitStack() as held:
        in_use = None
        if rank == 0:
            try:
                held.enter_context(exclusive_out(out))
                for folder, _, _ in os.walk(out):  # what killed runs were writing
                    remove_partial_writes(folder)
            except OutputInUseError as error:
                in_use = str(error)
        in_use = next((message for message in _gather(in_use) if message), None)
        if in_use is not None:  # every rank stops, not only rank 0
            raise OutputInUseError(in_use)
        return _extract_locked(extractor, jobs, src, out, rank, world_size, batch_size,
                               workers, progress, names, start)


def _extract_locked(extractor: FeatureExtractor, jobs: List[VideoJob], src: str, out: str,
                    rank: int, world_size: int, batch_size: int, workers: int, progress: bool,
                    names: Optional[Dict[str, str]], start: float) -> ExtractionReport:
    """``extract_features`` while rank 0 holds OUT's lock."""
    for job in jobs:  # a link planted in OUT must not lead a features file outside it
        safe_output_path(out, job.features, src, job.lineno)
    check_settings(out, dict(names or {}, **extractor.settings()), write=rank == 0)
    previous = read_index(osp.join(out, INDEX_FILE))

    run = _Run(extractor, out, jobs, batch_size, workers, progress and rank == 0)
    mine = list(range(rank, len(jobs), world_size))
    todo = []
    for job in mine:
        if jobs[job].shown != jobs[job].name:  # index.csv is UTF-8 text: named, not run
            run._fail(job, 'the file name is not UTF-8 text, which index.csv cannot hold: '
                           'rename the file')
        elif not osp.exists(osp.join(out, jobs[job].features)):
            todo.append(job)
            continue
        run.report.skipped.append(jobs[job].name)
        row = previous.get(jobs[job].name)
        if (row is None or set(row) != set(INDEX_COLUMNS)
                or row['features'] != jobs[job].features):
            try:  # finished before an index was written: its length and rate, not decoded
                info = extractor.preparer.open(jobs[job].path).info
                row = run.row(job, info.num_frames, info.fps)
            except VideoReadError:
                row = None
        if row is not None:
            run.rows[job] = row
    run.bar.update(len(mine) - len(todo) - len(run.report.failed))
    run.extract(todo)
    run.bar.close()
    run.report.timing['wall_s'] = time.perf_counter() - start

    report = ExtractionReport(index_file=osp.join(out, INDEX_FILE))
    rows = {}
    for part_rows, part in _gather((run.rows, run.report)):
        rows.update(part_rows)
        report.done += part.done
        report.skipped += part.skipped
        report.failed.update(part.failed)
        for key, value in part.timing.items():
            report.timing[key] = (max(report.timing[key], value) if key == 'wall_s'
                                  else report.timing[key] + value)
    if rank == 0:
        write_index(out, [rows[job] for job in sorted(rows)], report.failed)
    return report
