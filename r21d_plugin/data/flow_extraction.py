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

Resumable: a video is written into a hidden ``.<name>.partial`` folder beside its final
folder and renamed into place only when complete, so a killed run never leaves a half
video that looks finished; a rerun skips finished videos and redoes the rest. Videos that
fail are reported by name and do not stop the others.
"""
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
import multiprocessing
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import mmcv
from tqdm import tqdm

from .flow import FLOW_QUANT_BOUND, farneback_flow, quantize_flow, to_gray

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.mpg', '.mpeg')
FLOW_FILENAME_TMPL = '{}_{:05d}.{}'
PARTIAL_PREFIX, PARTIAL_SUFFIX = '.', '.partial'
DECODE_CHUNK = 32
#: (width, height) of the paper's frames, before the 112 x 112 crop.
PAPER_FRAME_SIZE = (171, 128)


@dataclass
class VideoEntry:
    """One video to extract: its path relative to the video root and its label fields."""
    rel_path: str
    labels: Tuple[str, ...] = ()

    @property
    def flow_dir(self) -> str:
        """The rawframes folder of this video, relative to the output root."""
        return osp.splitext(self.rel_path)[0]


@dataclass
class ExtractionReport:
    """What one run did: flow frame counts by flow folder of the videos extracted now and
    of those found finished, and the error of each failed video by its path."""
    extracted: Dict[str, int] = field(default_factory=dict)
    skipped: Dict[str, int] = field(default_factory=dict)
    failed: Dict[str, str] = field(default_factory=dict)
    annotation_file: Optional[str] = None


def read_annotation(ann_file: str) -> List[VideoEntry]:
    """Videos of an MMAction2 ``VideoDataset`` annotation file (``<video> <label>...``)."""
    entries = []
    with open(ann_file) as f:
        for line_no, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if osp.splitext(fields[0])[1].lower() not in VIDEO_EXTENSIONS:
                raise ValueError(f'{ann_file}, line {line_no}: expected "<video path> '
                                 f'<label>", the path to end in one of {VIDEO_EXTENSIONS}; '
                                 f'got {line.strip()!r}')
            entries.append(VideoEntry(fields[0], tuple(fields[1:])))
    if not entries:
        raise ValueError(f'{ann_file}: no videos listed')
    return entries


def find_videos(video_root: str) -> List[VideoEntry]:
    """Every video file under a folder, sorted, without labels."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(video_root):
        dirnames.sort()
        for name in sorted(filenames):
            if osp.splitext(name)[1].lower() in VIDEO_EXTENSIONS:
                entries.append(VideoEntry(osp.relpath(osp.join(dirpath, name), video_root)))
    if not entries:
        raise ValueError(f'{video_root}: no video files ({", ".join(VIDEO_EXTENSIONS)})')
    return entries


def _partial_dir(final_dir: str) -> str:
    parent, name = osp.split(final_dir)
    return osp.join(parent, PARTIAL_PREFIX + name + PARTIAL_SUFFIX)


def _count_flow_frames(flow_dir: str) -> int:
    return sum(name.startswith('x_') for name in os.listdir(flow_dir))


def write_video_flow(video_path: str, out_dir: str,
                     size: Optional[Tuple[int, int]] = PAPER_FRAME_SIZE, ext: str = 'jpg',
                     bound: float = FLOW_QUANT_BOUND) -> int:
    """Decode one video, write its quantised flow frames into ``out_dir``; return N-1.

    Args:
        video_path (str): the video file.
        out_dir (str): an existing, empty folder.
        size (tuple, optional): (width, height) frames are resized to first, as the RGB
            pipeline does; None keeps their size.
        ext (str): 'jpg' (MMAction2's layout) or 'png' (the same levels, lossless).
        bound (float): flow clipped to +-bound pixels before quantisation.
    """
    import decord  # imported here so workers that never decode do not load it

    reader = decord.VideoReader(video_path, num_threads=1)
    num_frames = len(reader)
    if num_frames < 2:
        raise ValueError(f'{video_path}: {num_frames} frame(s); flow needs at least 2')
    prev_gray = None
    for start in range(0, num_frames, DECODE_CHUNK):
        batch = reader.get_batch(list(range(start, min(start + DECODE_CHUNK,
                                                        num_frames)))).asnumpy()
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


def _extract_one(task: Tuple[str, str, Optional[Tuple[int, int]], str, float]) -> Tuple[str, int, Optional[str]]:
    """Worker: extract one video into a partial folder, then rename it into place."""
    video_path, final_dir, size, ext, bound = task
    partial = _partial_dir(final_dir)
    try:
        shutil.rmtree(partial, ignore_errors=True)  # left behind by a killed run
        os.makedirs(partial)
        num_flow_frames = write_video_flow(video_path, partial, size, ext, bound)
        os.rename(partial, final_dir)
        return final_dir, num_flow_frames, None
    except Exception as error:  # reported by name; the other videos go on
        shutil.rmtree(partial, ignore_errors=True)
        return final_dir, 0, f'{type(error).__name__}: {error}'


def annotation_path(src: str, out_root: str) -> str:
    """Where the rawframes annotation of ``src`` goes: ``OUT/<src name>_flow.txt``."""
    name = osp.splitext(osp.basename(osp.normpath(src)))[0]
    return osp.join(out_root, f'{name}_flow.txt')


def write_annotation(path: str, entries: Sequence[VideoEntry],
                     num_flow_frames: Dict[str, int]) -> None:
    """``<flow dir> <num flow frames> [<label>...]`` per finished video, written atomically."""
    partial = path + PARTIAL_SUFFIX
    with open(partial, 'w') as f:
        for entry in entries:
            if entry.flow_dir in num_flow_frames:
                f.write(' '.join((entry.flow_dir, str(num_flow_frames[entry.flow_dir]))
                                 + entry.labels) + '\n')
    os.replace(partial, path)


def extract_flow(src: str, out_root: str, workers: int = 1, video_root: Optional[str] = None,
                 size: Optional[Tuple[int, int]] = PAPER_FRAME_SIZE, ext: str = 'jpg',
                 bound: float = FLOW_QUANT_BOUND,
                 progress: bool = True) -> ExtractionReport:
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

    Returns:
        ExtractionReport: what was extracted, skipped and failed (video path -> error).
    """
    if ext not in ('jpg', 'png'):
        raise ValueError(f"ext must be 'jpg' or 'png', got {ext!r}")
    if osp.isdir(src):
        entries, video_root = find_videos(src), video_root or src
    elif osp.isfile(src):
        entries = read_annotation(src)
        video_root = video_root or osp.dirname(osp.abspath(src))
    else:
        raise FileNotFoundError(f'{src}: neither a folder of videos nor an annotation file')

    report = ExtractionReport()
    tasks = []
    for entry in entries:
        final_dir = osp.join(out_root, entry.flow_dir)
        if osp.isdir(final_dir):
            report.skipped[entry.flow_dir] = _count_flow_frames(final_dir)
        else:
            os.makedirs(osp.dirname(final_dir) or '.', exist_ok=True)
            tasks.append((osp.join(video_root, entry.rel_path), final_dir, size, ext, bound))

    entry_of = {osp.join(out_root, entry.flow_dir): entry for entry in entries}
    with tqdm(total=len(tasks), desc='flow', unit='video', disable=not progress) as bar:
        if workers > 1 and len(tasks) > 1:
            # Not forked from this process (a fork after OpenCV or OpenMP started threads
            # can hang): forked from a fresh server that imported this module once.
            # One OpenCV thread per worker: the pool already fills the cores.
            context = multiprocessing.get_context('forkserver')
            context.set_forkserver_preload([__name__])
            with context.Pool(min(workers, len(tasks)), initializer=cv2.setNumThreads,
                              initargs=(1, )) as pool:
                _collect(pool.imap_unordered(_extract_one, tasks), entry_of, report, bar)
        else:
            _collect(map(_extract_one, tasks), entry_of, report, bar)

    report.annotation_file = annotation_path(src, out_root)
    write_annotation(report.annotation_file, entries, {**report.skipped, **report.extracted})
    return report


def _collect(results, entry_of: Dict[str, VideoEntry], report: ExtractionReport,
             bar: tqdm) -> None:
    for final_dir, num_flow_frames, error in results:
        entry = entry_of[final_dir]
        if error is None:
            report.extracted[entry.flow_dir] = num_flow_frames
        else:
            report.failed[entry.rel_path] = error
            bar.set_postfix(failed=len(report.failed))
        bar.update()
