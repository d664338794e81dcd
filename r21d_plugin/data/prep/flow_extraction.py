"""Offline Farneback flow for a set of videos, in MMAction2's rawframes flow layout.

For every video ``<rel>.<ext>`` this writes ``OUT/<rel>/x_00001.jpg, y_00001.jpg, ...``
(frame k holds the flow from video frame k to k+1, 1-based, so a video of N frames gives
N-1 flow frames), quantised as MMAction2 and denseflow do (``quantize_flow``: +-20 px onto
0..255), and a ``RawframeDataset`` annotation file ``<rel> <num_flow_frames> [<label>...]``.

Frames are resized to 171 x 128 (the paper's input, as the paper configs'
``Resize(scale=(171, 128), keep_ratio=False)``) before the flow is computed, so the stored
flow is in the pixels the network sees after its 112 crop, as with the on-the-fly
``FarnebackFlow``; ``size=None`` keeps the videos' own size. ``ext='png'`` keeps the same levels losslessly (JPEG adds
up to a few levels of compression error).

Videos are read with ``decoder`` (``data.decoders``); a decoder call that takes longer than
``decode_timeout`` fails its video as hung. With several workers each video runs in a
worker process (``isolated_pool``): a decoder that crashes fails its video only, and a
worker whose decoder hung is replaced.

Resumable: a video is written into a new hidden ``.<name>.<random>.partial`` folder beside
its final folder and renamed into place only when complete, so a killed run never leaves a half
video that looks finished; a rerun skips finished videos and redoes the rest. Videos that
fail are reported by name and do not stop the others.

Nothing is written (or removed) outside OUT: an annotation entry with an absolute path or a
``..`` component is refused before any work starts, naming the file and line
(``paths.safe_output_path``).
"""
import glob
import multiprocessing
import os
import os.path as osp
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import mmcv
from tqdm import tqdm

from ...engine.checkpoint import PARTIAL_SUFFIX, atomic_write
from ..annotations import VideoListEntry, find_videos, read_video_list
from ..decoders import (DEFAULT_DECODE_TIMEOUT, Decoder, TransientDecodeError, VideoReadError,
                        open_reader, resolve_decoder)
from .isolated_pool import map_isolated
from .paths import safe_output_path
from ..flow import FLOW_QUANT_BOUND, farneback_flow, quantize_flow, to_gray

FLOW_FILENAME_TMPL = '{}_{:05d}.{}'
PARTIAL_PREFIX = '.'
DECODE_CHUNK = 32
#: (width, height) of the paper's frames, before the 112 x 112 crop.
PAPER_FRAME_SIZE = (171, 128)


def flow_dir(entry: VideoListEntry) -> str:
    """The rawframes folder of a video, relative to the output root (its path without its
    extension)."""
    return osp.splitext(entry.path)[0]


@dataclass
class ExtractionReport:
    """What one run did: flow frame counts by flow folder of the videos extracted now and
    of those found finished, and the error of each failed video by its path."""
    extracted: Dict[str, int] = field(default_factory=dict)
    skipped: Dict[str, int] = field(default_factory=dict)
    failed: Dict[str, str] = field(default_factory=dict)
    annotation_file: Optional[str] = None


def _partial_dir(final_dir: str) -> str:
    """A new, private folder beside ``final_dir`` to write its frames into (``mkdtemp``:
    created exclusively, never a folder or link planted there), after removing the partial
    folders a killed run left for it."""
    parent, name = osp.split(final_dir)
    pattern = f'{PARTIAL_PREFIX}{glob.escape(name)}.*{PARTIAL_SUFFIX}'
    for stale in glob.glob(osp.join(glob.escape(parent), pattern)):
        if not osp.islink(stale):
            shutil.rmtree(stale, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f'{PARTIAL_PREFIX}{name}.', suffix=PARTIAL_SUFFIX,
                            dir=parent)


def _count_flow_frames(flow_dir: str) -> int:
    return sum(name.startswith('x_') for name in os.listdir(flow_dir))


def write_video_flow(video_path: str, out_dir: str,
                     size: Optional[Tuple[int, int]] = PAPER_FRAME_SIZE, ext: str = 'jpg',
                     bound: float = FLOW_QUANT_BOUND, decoder: Decoder = 'auto',
                     decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT) -> int:
    """Decode one video, write its quantised flow frames into ``out_dir``; return N-1.

    Args:
        video_path (str): the video file.
        out_dir (str): an existing, empty folder.
        size (tuple, optional): (width, height) frames are resized to first, as the RGB
            pipeline does; None keeps their size.
        ext (str): 'jpg' (MMAction2's layout) or 'png' (the same levels, lossless).
        bound (float): flow clipped to +-bound pixels before quantisation.
        decoder (str | type): the video decoder (``data.decoders``).
        decode_timeout (float, optional): seconds a decoder call may take.
    """
    reader = open_reader(video_path, decoder, decode_timeout)
    num_frames = len(reader)
    if num_frames < 2:
        raise ValueError(f'{video_path}: {num_frames} frame(s); flow needs at least 2')
    prev_gray = None
    for start in range(0, num_frames, DECODE_CHUNK):
        batch = reader.read(range(start, min(start + DECODE_CHUNK, num_frames)))
        for offset, frame in enumerate(batch):
            if size is not None:
                frame = mmcv.imresize(frame, size)
            gray = to_gray(frame)
            if prev_gray is not None:
                quantized = quantize_flow(farneback_flow(prev_gray, gray), bound)
                index = start + offset  # 1-based number of this flow frame
                for channel, axis in enumerate('xy'):
                    path = osp.join(out_dir, FLOW_FILENAME_TMPL.format(axis, index, ext))
                    if not cv2.imwrite(path, quantized[..., channel]):
                        raise OSError(f'could not write {path}')
            prev_gray = gray
    return num_frames - 1


@dataclass(frozen=True)
class _Task:
    """One video to extract, as sent to a worker process."""
    video_path: str
    final_dir: str
    size: Optional[Tuple[int, int]]
    ext: str
    bound: float
    opencv_threads: Optional[int]  # 1 in worker processes: the workers fill the cores
    decoder: type
    decode_timeout: Optional[float]


def _extract_one(task: _Task) -> Tuple[int, Optional[str]]:
    """Extract one video into its partial folder, then rename that into place.

    Returns the number of flow frames and None, or 0 and the error. A decoder's
    ``VideoReadError`` (its ``DecodeTimeout``) and ``TransientDecodeError`` are raised, for
    ``map_isolated`` to replace a hung worker or stop the run.
    """
    if task.opencv_threads is not None:
        cv2.setNumThreads(task.opencv_threads)
    partial = _partial_dir(task.final_dir)
    try:
        num_flow_frames = write_video_flow(task.video_path, partial, task.size, task.ext,
                                           task.bound, task.decoder, task.decode_timeout)
        os.rename(partial, task.final_dir)
        return num_flow_frames, None
    except (VideoReadError, TransientDecodeError):
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except Exception as error:  # reported by name; the other videos go on
        shutil.rmtree(partial, ignore_errors=True)
        return 0, f'{type(error).__name__}: {error}'


def _run(tasks: List[_Task], workers: int) -> Iterator[Tuple[_Task, int, Optional[str]]]:
    """``(task, num_flow_frames, error)`` of every task, in the order they finish."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            try:
                yield (task, ) + _extract_one(task)
            except VideoReadError as error:
                yield task, 0, error.reason
        return
    # Workers are forked from a fresh server process that imported this module once, not
    # from this one (a fork after OpenCV started its threads can hang); a worker that
    # crashes in a decoder fails its video only (map_isolated).
    multiprocessing.get_context('forkserver').set_forkserver_preload([__name__])
    for index, outcome, crash in map_isolated(_extract_one, tasks, workers,
                                              start_method='forkserver'):
        yield (tasks[index], ) + (outcome if crash is None else (0, crash))


def _check_flow_dirs(entries: Sequence[VideoListEntry], src: str) -> None:
    """Two videos that differ only by extension would share a rawframes folder."""
    video_of = {}
    for entry in entries:
        other = video_of.setdefault(flow_dir(entry), entry.path)
        if other != entry.path:
            raise ValueError(f'{src}: {other} and {entry.path} would both write their '
                             f'flow to {flow_dir(entry)}/ (the rawframes layout drops the '
                             f'extension); rename one')


def annotation_path(src: str, out_root: str) -> str:
    """Where the rawframes annotation of ``src`` goes: ``OUT/<src name>_flow.txt``."""
    name = osp.splitext(osp.basename(osp.normpath(src)))[0]
    return osp.join(out_root, f'{name}_flow.txt')


def write_annotation(path: str, entries: Sequence[VideoListEntry],
                     num_flow_frames: Dict[str, int]) -> None:
    """``<flow dir> <num flow frames> [<label>...]`` per finished video, written atomically."""
    atomic_write(path, ''.join(
        ' '.join((flow_dir(entry), str(num_flow_frames[flow_dir(entry)]))
                 + tuple(map(str, entry.labels))) + '\n'
        for entry in entries if flow_dir(entry) in num_flow_frames))


def extract_flow(src: str, out_root: str, workers: int = 1, video_root: Optional[str] = None,
                 size: Optional[Tuple[int, int]] = PAPER_FRAME_SIZE, ext: str = 'jpg',
                 bound: float = FLOW_QUANT_BOUND, progress: bool = True,
                 decoder: Decoder = 'auto',
                 decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT) -> ExtractionReport:
    """Extract Farneback flow of every video of ``src`` into ``out_root``.

    Args:
        src (str): a folder of videos (searched recursively), or a ``VideoDataset``
            annotation file (``<video path> <label>`` lines).
        out_root (str): output root; finished videos already there are skipped.
        workers (int): processes extracting videos in parallel.
        video_root (str, optional): the folder the annotation's paths are relative to;
            defaults to the annotation file's folder (or ``src`` itself for a folder).
        size (tuple, optional): (width, height) to resize frames to before computing
            flow; None keeps the videos' size.
        ext (str): 'jpg' or 'png'.
        bound (float): quantisation bound in pixels.
        progress (bool): show a tqdm progress bar.
        decoder (str | type): the video decoder (``data.decoders``).
        decode_timeout (float, optional): seconds a decoder call may take before its
            video fails as hung (None: no limit).

    Returns:
        ExtractionReport: what was extracted, skipped and failed (video path -> error).
    """
    if ext not in ('jpg', 'png'):
        raise ValueError(f"ext must be 'jpg' or 'png', got {ext!r}")
    if osp.isdir(src):
        entries, video_root = find_videos(src), video_root or src
    elif osp.isfile(src):
        entries = read_video_list(src)
        video_root = video_root or osp.dirname(osp.abspath(src))
    else:
        raise FileNotFoundError(f'{src}: neither a folder of videos nor an annotation file')

    _check_flow_dirs(entries, src)
    final_dirs = [safe_output_path(out_root, flow_dir(entry), src, entry.lineno)
                  for entry in entries]

    reader = resolve_decoder(decoder)
    report = ExtractionReport()
    tasks, entry_of = [], {}
    for entry, final_dir in zip(entries, final_dirs):
        if final_dir in entry_of:
            continue  # listed twice
        entry_of[final_dir] = entry
        if osp.isdir(final_dir):
            report.skipped[flow_dir(entry)] = _count_flow_frames(final_dir)
        else:
            os.makedirs(osp.dirname(final_dir) or '.', exist_ok=True)
            tasks.append(_Task(osp.join(video_root, entry.path), final_dir, size, ext,
                               bound, 1 if workers > 1 else None, reader, decode_timeout))

    with tqdm(total=len(tasks), desc='flow', unit='video', disable=not progress) as bar:
        for task, num_flow_frames, error in _run(tasks, workers):
            entry = entry_of[task.final_dir]
            if error is None:
                report.extracted[flow_dir(entry)] = num_flow_frames
            else:
                report.failed[entry.path] = error
                bar.set_postfix(failed=len(report.failed))
            bar.update()

    report.annotation_file = annotation_path(src, out_root)
    write_annotation(report.annotation_file, entries, {**report.skipped, **report.extracted})
    return report

