"""Clip features for every window of a video, and for every video of a dataset.

R(2+1)D's most common use outside recognition is as a feature extractor: temporal action
localization, anomaly detection, retrieval and captioning start from per-window features.

**Windows.** The window rule of ``video`` (its module docstring): windows of ``clip_len``
frames ``frame_interval`` apart start every ``stride`` frames while the whole window lies
inside the video; a video shorter than one window gives one window whose frames loop
(``index % num_frames``, as MMAction2's test sampling fills short videos). Defaults: the
config's clip length and frame interval, and ``stride = clip_len * frame_interval`` (windows
tile the video). Each window goes through the config's test preprocessing (its steps after
decoding: resize, one center crop, format), then the model's own data preprocessor
(normalisation), then the backbone up to the chosen stage.

**Layers.** ``pool5``: the conv5 output averaged over time and space (the input of the
paper's fc layer; 512 channels for the paper's networks). ``conv2`` .. ``conv5``: that stage's
output, averaged over time and space as well, or with ``keep_map`` its whole
``C x T' x H' x W'`` map. Stages after the chosen one are not computed.

**Two streams.** With a flow model (a flow config's test pipeline computes Farneback flow on
the fly, as the flow stream was trained), a window spans ``clip_len + 1`` frames: the RGB
stream sees its first ``clip_len`` frames and the flow stream the ``clip_len`` flows between
all of them, as ``two_stream_pipeline`` pairs them. The two features are concatenated along
the channels: RGB first, then flow (``FeatureExtractor.layout``).

**Batches.** A video's windows go through the networks ``batch_size`` at a time, never
mixed with another video's: its features are the same, bit for bit, whatever the number of
loading workers or ranks, on a resumed run, and from ``extract_video_features``.

**Output** (``extract_features``): per video ``OUT/<path relative to SRC without its
extension>.npy``, float32 ``[num_windows, C]`` (or ``[num_windows, C, T', H', W']`` with
``keep_map``), written under a temporary name and renamed when complete; ``OUT/index.csv``
with one row per finished video (``INDEX_COLUMNS``): window ``k`` covers the ``span``
frames from frame ``first_start + k * stride``, starting ``start / fps`` seconds in; ``OUT/settings.json``, the settings
the features were made with (a rerun with other settings is refused); ``OUT/failed.txt``,
the videos that failed and why (only when some did).
"""
import csv
import io
import json
import multiprocessing
import os
import os.path as osp
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.config import Config
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from tqdm import tqdm

from ..data.pipelines import with_clip_len
from ..data.prep.flow_extraction import PARTIAL_PREFIX, PARTIAL_SUFFIX, VIDEO_EXTENSIONS
from ..data.prep.flow_extraction import find_videos
from ..data.prep.isolated_pool import crash_reason
from ..data.robust import (AnnotationError, exception_summary, format_annotation_errors,
                           parse_video_line, read_annotation)
from ..models.positions import FEATURE_LAYERS
from .clip_pipeline import ClipPipeline, config_test_pipeline
from .inference import load_recognizer
from .video import (Video, VideoReadError, VideoSource, default_stride, open_video,
                    window_span, window_starts)

#: ``--layer`` names -> backbone stage (``out_indices``; ``models.positions``).
LAYER_STAGES = FEATURE_LAYERS
#: ``--amp`` names -> autocast dtypes.
AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}
#: Columns of ``OUT/index.csv``.
INDEX_COLUMNS = ('video', 'features', 'frames', 'fps', 'windows', 'first_start',
                 'last_start', 'stride', 'span', 'layer')
INDEX_FILE, SETTINGS_FILE, FAILED_FILE = 'index.csv', 'settings.json', 'failed.txt'
#: Settings that follow from the others (recorded for readers, not compared on a rerun).
DERIVED_SETTINGS = ('feature_shape', 'layout')
#: Frames of the blank window that checks a setup (and measures its features) at start.
PROBE_FRAME_SIZE = (128, 171)
#: Collectives wait for the slowest rank, which may have hours of video more to go.
DISTRIBUTED_TIMEOUT_S = 7 * 24 * 3600


def load_model(config: Union[str, Config], checkpoint: Optional[str],
               device: Union[str, torch.device] = 'cpu') -> nn.Module:
    """The recognizer of ``config`` with ``checkpoint``'s weights, in eval mode on ``device``
    (``model.cfg`` is the config): ``load_recognizer``'s network, so a checkpoint that does
    not fit is refused with its reason (features of such a network would be silently wrong).
    ``checkpoint=None`` keeps the initial weights (for speed measurements)."""
    # (class names play no part in features; a config's label map file may not exist here)
    return load_recognizer(config, checkpoint, device, cfg_options=dict(label_map=None)).model


def _required_test_pipeline(cfg) -> List[dict]:
    pipeline = config_test_pipeline(cfg)
    if pipeline is None:
        raise ValueError(f'{cfg.filename}: the config has no test_pipeline, so the '
                         'preprocessing its network expects is unknown')
    return pipeline


def _has_step(pipeline: Sequence[dict], name: str) -> bool:
    return any(step['type'] == name for step in pipeline)


class WindowPreparer:
    """The CPU half of extraction: windows of a video, and each stream's preprocessing.

    It holds no model, so DataLoader workers run it while the main process runs the
    network.

    Args:
        pipelines (dict[str, list[dict]]): each stream's test pipeline (``'rgb'``, and
            ``'flow'`` for two streams, whose pipeline computes flow on the fly).
        stride (int, optional): frames from one window's start to the next. Default:
            ``clip_len * frame_interval``.

    Attributes:
        clip_len (int): frames of the RGB stream's clip.
        frame_interval (int): step between a clip's frames.
        frames_per_window (int): frames a window takes, ``clip_len`` (+1 with flow).
    """

    def __init__(self, pipelines: Dict[str, List[dict]], stride: Optional[int] = None) -> None:
        self.pipelines = {name: ClipPipeline(steps) for name, steps in pipelines.items()}
        rgb = self.pipelines['rgb']
        self.clip_len, self.frame_interval = rgb.frames_per_clip, rgb.frame_interval
        self.frames_per_window = self.clip_len
        flow = self.pipelines.get('flow')
        if flow is not None:
            if (flow.frames_per_clip, flow.frame_interval) != (self.clip_len + 1,
                                                               self.frame_interval):
                raise ValueError(
                    f'the flow stream takes {flow.frames_per_clip} frames {flow.frame_interval}'
                    f' apart per clip, the RGB stream {self.clip_len} frames '
                    f'{self.frame_interval} apart; two streams need L+1 and L frames of the '
                    'same spacing')
            self.frames_per_window = self.clip_len + 1
        self.stride = stride or default_stride(self.clip_len, self.frame_interval)
        if self.stride < 1:
            raise ValueError(f'stride must be positive, got {self.stride}')

    def starts(self, num_frames: int) -> List[int]:
        """First frame of every window of a video of ``num_frames`` frames."""
        return window_starts(num_frames, self.frames_per_window, self.stride,
                             self.frame_interval)

    def windows(self, video: Video) -> Iterator[Tuple[int, np.ndarray]]:
        """``(start, frames)`` of every window, decoded as a stream."""
        return video.windows(self.frames_per_window, self.stride, self.frame_interval)

    def prepare(self, clips: Sequence[np.ndarray]) -> Dict[str, torch.Tensor]:
        """Each stream's input for the windows' frames (``num_windows x C x T x H x W``)."""
        inputs = {}
        for name, pipeline in self.pipelines.items():
            frames = clips if name == 'flow' else [clip[:self.clip_len] for clip in clips]
            packed = pipeline(frames)['inputs']
            if packed.shape[0] != len(clips):
                raise ValueError(f'the {name} test pipeline makes {packed.shape[0]} views of '
                                 f'{len(clips)} windows; feature extraction takes one crop '
                                 'per window (use CenterCrop)')
            inputs[name] = packed
        return inputs


@contextmanager
def _stage_output(backbone: nn.Module, stage: int) -> Iterator[None]:
    """The backbone returns stage ``stage`` within the block (its ``out_indices``)."""
    if not hasattr(backbone, 'out_indices'):
        if stage != 3:
            raise ValueError(f'{type(backbone).__name__} has no out_indices to return an '
                             'earlier stage with; use pool5 or conv5')
        yield
        return
    previous = backbone.out_indices
    backbone.out_indices = (stage, )
    try:
        yield
    finally:
        backbone.out_indices = previous


class FeatureExtractor:
    """Networks reduced to the features of one layer, for windows of videos.

    Args:
        model (nn.Module): a recognizer with ``model.cfg`` (``load_model``, or MMAction2's
            ``init_recognizer``), whose test pipeline preprocesses the windows.
        layer (str): ``'pool5'`` or ``'conv2'`` .. ``'conv5'``. Default: ``'pool5'``.
        keep_map (bool): keep a conv layer's ``C x T' x H' x W'`` map instead of its
            average over time and space. Default: False.
        clip_len (int, optional): frames per window. Default: the config's.
        stride (int, optional): frames between window starts. Default: ``clip_len *
            frame_interval``.
        amp (str, optional): ``'bf16'`` or ``'fp16'``: run the networks under autocast;
            features are returned in float32. Default: None (float32).
        flow_model (nn.Module, optional): a flow recognizer with ``cfg`` whose test pipeline
            computes flow on the fly; its features follow the RGB ones. Default: None.

    Attributes:
        preparer (WindowPreparer): the windows and their preprocessing.
        feature_shape (tuple): the shape of one window's feature (with ``keep_map``, for
            frames of ``PROBE_FRAME_SIZE``: after a pipeline without a fixed-size crop,
            ``H' x W'`` follow each video's frame size).
        layout (dict): each stream's channels ``[first, last)`` in a feature.
    """

    def __init__(self, model: nn.Module, layer: str = 'pool5', keep_map: bool = False,
                 clip_len: Optional[int] = None, stride: Optional[int] = None,
                 amp: Optional[str] = None, flow_model: Optional[nn.Module] = None) -> None:
        if layer not in LAYER_STAGES:
            raise ValueError(f'layer must be one of {list(LAYER_STAGES)}, got {layer!r}')
        if keep_map and layer == 'pool5':
            raise ValueError('pool5 is pooled by definition; keep the map of conv5 instead')
        if amp is not None and amp not in AMP_DTYPES:
            raise ValueError(f'amp must be one of {list(AMP_DTYPES)} or None, got {amp!r}')
        self.layer, self.keep_map, self.amp = layer, keep_map, amp
        self.models = dict(rgb=model)
        pipelines = dict(rgb=_required_test_pipeline(model.cfg))
        if _has_step(pipelines['rgb'], 'FarnebackFlow'):
            raise ValueError(f'{model.cfg.filename} computes flow (FarnebackFlow): give it '
                             'as the flow model, beside an RGB model')
        if flow_model is not None:
            self.models['flow'] = flow_model
            pipelines['flow'] = _required_test_pipeline(flow_model.cfg)
            if not _has_step(pipelines['flow'], 'FarnebackFlow'):
                raise ValueError(f'{flow_model.cfg.filename}: a flow config whose test '
                                 'pipeline computes flow on the fly (FarnebackFlow) is needed')
        if clip_len is not None:
            pipelines = {name: with_clip_len(steps, clip_len)
                         for name, steps in pipelines.items()}
        self.preparer = WindowPreparer(pipelines, stride)
        probe = np.zeros((self.preparer.frames_per_window, ) + PROBE_FRAME_SIZE + (3, ),
                         np.uint8)
        shapes = {name: tuple(feature.shape[1:]) for name, feature in
                  self._stream_features(self.preparer.prepare([probe])).items()}
        self.layout, first = {}, 0
        for name, shape in shapes.items():
            self.layout[name] = (first, first + shape[0])
            first += shape[0]
        self.feature_shape = (first, ) + shapes['rgb'][1:]

    @property
    def device(self) -> torch.device:
        return next(self.models['rgb'].parameters()).device

    def _stream_features(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        features = {}
        for name, model in self.models.items():
            device = next(model.parameters()).device
            data = model.data_preprocessor(dict(inputs=[inputs[name]], data_samples=None),
                                           False)['inputs']
            clips = data.flatten(0, 1)  # one sample of num_windows clips -> the clips
            autocast = (torch.autocast(device.type, dtype=AMP_DTYPES[self.amp])
                        if self.amp else nullcontext())
            with torch.no_grad(), autocast, _stage_output(model.backbone,
                                                          LAYER_STAGES[self.layer]):
                out = model.backbone(clips)
            out = out.float()
            features[name] = out if self.keep_map else out.mean(dim=(2, 3, 4))
        return features

    def __call__(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Features of prepared windows (``WindowPreparer.prepare``), float32 on the CPU."""
        return torch.cat(list(self._stream_features(inputs).values()), dim=1).cpu()

    def settings(self) -> dict:
        """What the features depend on (besides the weights), as ``settings.json`` holds it."""
        preparer = self.preparer
        return dict(
            layer=self.layer, keep_map=self.keep_map, amp=self.amp,
            clip_len=preparer.clip_len, frame_interval=preparer.frame_interval,
            stride=preparer.stride, window_frames=preparer.frames_per_window,
            feature_shape=list(self.feature_shape),
            layout={name: list(span) for name, span in self.layout.items()},
            pipelines={name: pipeline.steps for name, pipeline in preparer.pipelines.items()})


def _window_batches(preparer: WindowPreparer, video: Video, batch_size: int
                    ) -> Iterator[Tuple[List[int], Dict[str, torch.Tensor], float, float]]:
    """``(starts, inputs, decode_s, prepare_s)`` of consecutive windows, ``batch_size`` at a time."""
    clock = time.perf_counter
    windows = preparer.windows(video)
    starts, clips, decode_s = [], [], 0.0
    while True:
        tick = clock()
        window = next(windows, None)
        decode_s += clock() - tick
        if window is not None:
            starts.append(window[0])
            clips.append(window[1])
        if clips and (window is None or len(clips) == batch_size):
            tick = clock()
            inputs = preparer.prepare(clips)
            yield starts, inputs, decode_s, clock() - tick
            starts, clips, decode_s = [], [], 0.0
        if window is None:
            return


def extract_video_features(extractor: FeatureExtractor, video: Union[VideoSource, Video],
                           batch_size: int = 8, name: Optional[str] = None,
                           fps: float = 30.0) -> Iterator[Tuple[int, np.ndarray]]:
    """Yield ``(start_frame, feature)`` for every window of one video, in order.

    The video is decoded once, as a stream (memory does not grow with its length), and its
    windows go through the networks ``batch_size`` at a time.

    Args:
        extractor (FeatureExtractor): the networks, layer and windows.
        video (str | np.ndarray | Video): a video file, ``T x H x W x 3`` uint8 RGB frames,
            or an opened ``Video``.
        batch_size (int): windows per forward pass. Default: 8.
        name (str, optional): how errors name frames in memory. Default: the path.
        fps (float): frame rate of frames in memory. Default: 30.

    Raises:
        VideoReadError: the video cannot be read; the message names it and the reason.
    """
    if not isinstance(video, Video):
        video = open_video(video, name, fps)
    for starts, inputs, _, _ in _window_batches(extractor.preparer, video, batch_size):
        yield from zip(starts, extractor(inputs).numpy())


# ----------------------------------------------------------------------- datasets at scale


@dataclass(frozen=True)
class VideoJob:
    """One video of SRC: its name (path relative to SRC, as listed), the file, its line."""

    name: str
    path: str
    lineno: Optional[int] = None

    @property
    def features(self) -> str:
        """Its features file, relative to OUT."""
        return osp.splitext(self.name)[0] + '.npy'


def _annotation_jobs(ann_file: str, video_root: str) -> List[VideoJob]:
    lines = list(read_annotation(ann_file, partial(parse_video_line, require_label=False)))
    bad = [line for line in lines if line.error is not None]
    if bad:
        raise AnnotationError(f'{len(bad)} bad line(s) in annotation file {ann_file}:\n'
                              f'{format_annotation_errors(ann_file, bad)}')
    escaping = [line for line in lines
                if osp.isabs(line.info['filename'])
                or '..' in PurePath(line.info['filename']).parts]
    if escaping:
        shown = '\n'.join(f'  {ann_file}:{line.lineno}: {line.info["filename"]!r}'
                          for line in escaping[:20])
        raise ValueError(f'{len(escaping)} video path(s) in {ann_file} would write features '
                         f'outside OUT (absolute, or with ".."); list them relative to '
                         f'--video-root:\n{shown}')
    return [VideoJob(osp.normpath(line.info['filename']),
                     osp.join(video_root, line.info['filename']), line.lineno)
            for line in lines]


def list_videos(src: str, video_root: Optional[str] = None) -> List[VideoJob]:
    """The videos of SRC: a video file, a folder (searched recursively, sorted), or a
    ``VideoDataset`` annotation file (``<video> [<label>...]`` lines, paths relative to
    ``video_root``, default the annotation's folder). Listed twice: kept once.

    Raises:
        ValueError: no videos; a listed path would write outside OUT; two videos would
            write the same features file.
    """
    if osp.isdir(src):
        jobs = [VideoJob(entry.rel_path, osp.join(src, entry.rel_path))
                for entry in find_videos(src)]
    elif osp.isfile(src) and osp.splitext(src)[1].lower() in VIDEO_EXTENSIONS:
        jobs = [VideoJob(osp.basename(src), src)]
    elif osp.isfile(src):
        jobs = _annotation_jobs(src, video_root or osp.dirname(osp.abspath(src)))
    else:
        raise FileNotFoundError(f'{src}: no such video file, folder or annotation file')
    unique, owner = [], {}
    for job in jobs:
        other = owner.setdefault(job.features, job)
        if other is job:
            unique.append(job)
        elif other.name != job.name:
            where = f' (lines {other.lineno} and {job.lineno})' if job.lineno else ''
            raise ValueError(f'{src}: {other.name} and {job.name} would both write '
                             f'{job.features}{where}; rename one')
    if not unique:
        raise ValueError(f'{src}: no videos listed')
    return unique


class _PartialFeatures:
    """One video's ``.npy`` written row by row under a temporary name, renamed when whole."""

    def __init__(self, path: str, num_windows: int) -> None:
        self.path, self.num_windows, self.written = path, num_windows, 0
        folder, name = osp.split(path)
        self.partial = osp.join(folder, PARTIAL_PREFIX + name + PARTIAL_SUFFIX)
        self.file: Optional[io.BufferedWriter] = None

    def write(self, rows: np.ndarray) -> None:
        if self.file is None:  # the shape of a window's feature is the first rows'
            os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
            self.file = open(self.partial, 'wb')
            np.lib.format.write_array_header_1_0(self.file, dict(
                descr=np.lib.format.dtype_to_descr(np.dtype('<f4')), fortran_order=False,
                shape=(self.num_windows, ) + tuple(rows.shape[1:])))
        self.file.write(np.ascontiguousarray(rows, dtype='<f4').tobytes())
        self.written += len(rows)

    def finish(self) -> None:
        if self.written != self.num_windows:
            raise RuntimeError(f'{self.path}: {self.written} of {self.num_windows} windows')
        self.file.flush()
        os.fsync(self.file.fileno())  # whole on disk before it gets its final name
        self.file.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
            os.remove(self.partial)


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
            video = open_video(path, name)
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
        except Exception as exc:  # a bad video fails alone; the message names the error
            yield _Windows(job, error=exception_summary(exc))


def _loading_context() -> multiprocessing.context.BaseContext:
    """Loading workers fork from a fresh server process that imported this module once,
    not from the main process: a fork after OpenCV or OpenMP started threads can hang."""
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload([__name__])
    return context


def _init_loading_worker(worker_id: int) -> None:
    import cv2
    cv2.setNumThreads(1)  # the workers fill the cores
    # Decoders print their own logs (ffmpeg's, decord's); the main process names each
    # failed video with its reason, so keep the terminal for that and the progress bar.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def _dead_workers(items, wait_s: float = 5.0) -> Dict[int, int]:
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
        self.files: Dict[int, _PartialFeatures] = {}
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
        self.report.failed[self.jobs[job].name] = reason
        self.settled.add(job)
        self.bar.write(f'FAILED {self.jobs[job].path}: {reason}')
        self.bar.update()

    def _write(self, item: _Windows) -> None:
        if item.job not in self.files:
            self.files[item.job] = _PartialFeatures(
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
                          multiprocessing_context=_loading_context(),
                          worker_init_fn=_init_loading_worker, prefetch_factor=2)

    def _pass(self, jobs: List[int], workers: int) -> None:
        """Extract ``jobs``; raise _WorkerCrash if a loading worker dies."""
        workers = min(workers, len(jobs))
        context = _loading_context()
        current = context.Array('l', [-1] * workers, lock=False) if workers else None
        items = iter(self._loader(jobs, workers, current))
        try:
            for item in items:
                self.report.timing['decode_s'] += item.decode_s
                self.report.timing['prepare_s'] += item.prepare_s
                if item.error is None:
                    self._write(item)
                else:
                    self._fail(item.job, item.error)
        except (RuntimeError, ConnectionError, EOFError) as exc:
            # torch reports a dead worker as a RuntimeError; one that died while the main
            # process fetched a batch it had shared breaks that connection instead.
            if isinstance(exc, RuntimeError) and not str(exc).startswith('DataLoader worker'):
                raise
            died = _dead_workers(items)
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


def _read_index(path: str) -> Dict[str, dict]:
    if not osp.exists(path):
        return {}
    with open(path, newline='') as f:
        return {row['video']: row for row in csv.DictReader(f)}


def _write_atomically(path: str, text: str) -> None:
    partial = path + PARTIAL_SUFFIX
    with open(partial, 'w', newline='') as f:
        f.write(text)
    os.replace(partial, path)


def _check_settings(out: str, settings: dict, write: bool) -> None:
    """Refuse to add features made otherwise to OUT; record the settings in a new OUT."""
    settings = json.loads(json.dumps(settings, default=str))  # as the file holds them
    path = osp.join(out, SETTINGS_FILE)
    if osp.exists(path):
        with open(path) as f:
            previous = json.load(f)
        differ = sorted(key for key in set(settings) | set(previous)
                        if key not in DERIVED_SETTINGS
                        and settings.get(key) != previous.get(key))
        if differ:
            shown = '; '.join(f'{key}: {previous.get(key)!r} there, {settings.get(key)!r} now'
                              for key in differ)
            raise ValueError(f'{out} holds features made with other settings ({shown}); '
                             'extract into another folder, or remove it first')
    elif write:
        _write_atomically(path, json.dumps(settings, indent=2) + '\n')


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
    os.makedirs(out, exist_ok=True)
    _check_settings(out, dict(names or {}, **extractor.settings()), write=rank == 0)
    previous = _read_index(osp.join(out, INDEX_FILE))

    run = _Run(extractor, out, jobs, batch_size, workers, progress and rank == 0)
    mine = list(range(rank, len(jobs), world_size))
    todo = []
    for job in mine:
        if not osp.exists(osp.join(out, jobs[job].features)):
            todo.append(job)
            continue
        run.report.skipped.append(jobs[job].name)
        row = previous.get(jobs[job].name)
        if (row is None or set(row) != set(INDEX_COLUMNS)
                or row['features'] != jobs[job].features):
            try:  # finished before an index was written: its length and rate, not decoded
                info = open_video(jobs[job].path).info
                row = run.row(job, info.num_frames, info.fps)
            except VideoReadError:
                row = None
        if row is not None:
            run.rows[job] = row
    run.bar.update(len(mine) - len(todo))
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
        text = io.StringIO()
        writer = csv.DictWriter(text, INDEX_COLUMNS, lineterminator='\n')
        writer.writeheader()
        writer.writerows(rows[job] for job in sorted(rows))
        _write_atomically(report.index_file, text.getvalue())
        failed_file = osp.join(out, FAILED_FILE)
        if report.failed:
            _write_atomically(failed_file, ''.join(f'{name}\t{reason}\n' for name, reason
                                                   in report.failed.items()))
        elif osp.exists(failed_file):
            os.remove(failed_file)
    return report


def measure_extraction(config: str, video: str, layer: str = 'pool5',
                       amp: Optional[str] = None, batch_size: int = 8, workers: int = 0,
                       clip_len: Optional[int] = None, stride: Optional[int] = None,
                       device: str = 'cpu') -> Dict[str, float]:
    """Windows per second of ``extract_features`` on one video, and where the time goes.

    The network of ``config`` keeps its initial weights (the speed does not depend on
    them). With ``workers=0`` decoding, preprocessing and the network take turns in one
    process, so the shares add up to the whole; with loading workers, decoding overlaps the
    network and the rate approaches the network's own, ``model_windows_per_s``.

    Returns:
        dict: ``windows``, ``windows_per_s`` (wall clock, the worker start-up included),
        ``model_windows_per_s``, and ``decode_share``, ``prepare_share``, ``model_share`` of
        the busy time.
    """
    import tempfile

    extractor = FeatureExtractor(load_model(config, None, device), layer,
                                 clip_len=clip_len, stride=stride, amp=amp)
    with tempfile.TemporaryDirectory() as out:
        timing = extract_features(extractor, video, out, batch_size=batch_size,
                                  workers=workers, progress=False).timing
    busy = timing['decode_s'] + timing['prepare_s'] + timing['model_s']
    return dict(windows=timing['windows'],
                windows_per_s=timing['windows'] / timing['wall_s'],
                model_windows_per_s=timing['windows'] / timing['model_s'],
                decode_share=timing['decode_s'] / busy,
                prepare_share=timing['prepare_s'] / busy,
                model_share=timing['model_s'] / busy)
