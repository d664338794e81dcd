"""Run a recognizer (``loading.load_recognizer``) on videos: ``predict`` and ``timeline``.

``predict`` runs the config's multi-clip test on each video exactly as MMAction2's test does
(``SampleFrames`` in test mode chooses the clips, the config's test pipeline prepares them,
the clip scores are softmax-averaged), but decodes each video once as a stream and runs its
clips as one batch; with ``workers``, loading processes decode and prepare the videos
(``clip_preparation``, ``video_workers``) while this one runs the networks, the results in
input order. ``timeline`` scores every window of ``L`` frames every ``S`` frames of a
long video (``video.Video.windows``: bounded memory whatever the length). Both take an RGB
recognizer and, optionally, a flow recognizer whose flow is computed on the fly from the
same frames (``FarnebackFlow``); the two are fused with ``TwoStreamRecognizer``'s rule.

A video shorter than a clip is handled as the test pipeline handles it: ``SampleFrames``
loops its frames (index ``i % num_frames``), and the result says so (``looped``).
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import islice
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from tqdm import tqdm

from ..data.decoders import DEFAULT_DECODE_TIMEOUT, Decoder
from ..engine.device import Precision, amp_dtype, autocast
from ..models.two_stream import fuse_scores
from .clip_preparation import ClipPreparer, PreparedVideo, VideoInput
from .loading import RecognizerLoadError, VideoRecognizer
from .video import (Video, VideoInfo, VideoReadError, default_stride, window_span,
                    window_starts)
from .video_workers import prepared_in_order



# ------------------------------------------------------------------------------ results


@dataclass
class StreamScores:
    """One stream's (or the fusion's) scores of a video.

    Attributes:
        scores (np.ndarray): (num_classes, ) softmax averaged over the clips.
        clip_scores (np.ndarray): (num_clips, num_classes) each clip's softmax.
        topk (list[tuple[int, str, float]]): (class index, label, score), best first.
    """

    scores: np.ndarray
    clip_scores: np.ndarray
    topk: List[Tuple[int, str, float]]

    def to_dict(self) -> dict:
        return dict(topk=_topk_dicts(self.topk), scores=self.scores.tolist(),
                    clip_scores=self.clip_scores.tolist())


@dataclass
class Prediction:
    """What ``predict`` reports for one video.

    Attributes:
        name (str): the video's path (or the name given to frames in memory).
        video (VideoInfo | None): frames, fps and size; None if it could not be read.
        clip_frames (np.ndarray | None): (num_clips, frames) source frame indices of each
            clip (the frames used; for a flow stream, the L+1 frames of its L flow frames).
        looped (bool): the video is shorter than a clip, whose frames were looped.
        result (StreamScores | None): the scores (fused, for two streams).
        streams (dict[str, StreamScores]): each stream's own scores, for two streams.
        error (str | None): why the video could not be read (then no scores).
    """

    name: str
    video: Optional[VideoInfo] = None
    clip_frames: Optional[np.ndarray] = None
    looped: bool = False
    result: Optional[StreamScores] = None
    streams: Dict[str, StreamScores] = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def topk(self) -> List[Tuple[int, str, float]]:
        return self.result.topk if self.result is not None else []

    def to_dict(self) -> dict:
        """A JSON-serialisable dict: video facts, top-k, per-clip scores, frames used."""
        out = dict(video=self.name)
        if self.error is not None:
            return dict(out, error=self.error)
        out.update(_info_dict(self.video), looped=self.looped,
                   clip_frames=self.clip_frames.tolist(), **self.result.to_dict())
        if self.streams:
            out['streams'] = {name: scores.to_dict() for name, scores in self.streams.items()}
        return out


@dataclass
class Timeline:
    """What ``timeline`` reports: the scores of every window of a video.

    Attributes:
        name (str): the video.
        video (VideoInfo): frames, fps and size.
        clip_len (int): frames the network saw per window.
        stride (int): source frames between window starts.
        frame_interval (int): source frames between a window's frames.
        frames_per_window (int): source frames read per window (``clip_len``, or
            ``clip_len + 1`` with a flow stream).
        starts (np.ndarray): (num_windows, ) first source frame of each window.
        scores (np.ndarray): (num_windows, num_classes) softmax (fused, for two streams).
        stream_scores (dict[str, np.ndarray]): each stream's, for two streams.
        labels (list[str] | None): class names.
    """

    name: str
    video: VideoInfo
    clip_len: int
    stride: int
    frame_interval: int
    frames_per_window: int
    starts: np.ndarray
    scores: np.ndarray
    stream_scores: Dict[str, np.ndarray] = field(default_factory=dict)
    labels: Optional[List[str]] = None

    @property
    def span(self) -> int:
        """Source frames one window covers."""
        return window_span(self.frames_per_window, self.frame_interval)

    def seconds(self) -> Tuple[np.ndarray, np.ndarray]:
        """(start, end) of each window in seconds (the frame rate's; 30 fps if unknown)."""
        fps = self.video.fps or 30.0
        return self.starts / fps, (self.starts + self.span) / fps

    def topk(self, k: int) -> List[List[Tuple[int, str, float]]]:
        """Each window's top-k (class index, label, score)."""
        return [_topk(row, k, self.labels) for row in self.scores]

    def to_dict(self, k: int = 5) -> dict:
        starts, ends = self.seconds()
        windows = [dict(start_frame=int(start), end_frame=int(start + self.span - 1),
                        start_s=round(float(begin), 3), end_s=round(float(end), 3),
                        topk=_topk_dicts(top))
                   for start, begin, end, top in zip(self.starts, starts, ends, self.topk(k))]
        return dict(window=self.clip_len, stride=self.stride,
                    frame_interval=self.frame_interval, windows=windows)


def _topk(scores: np.ndarray, k: int,
          labels: Optional[List[str]]) -> List[Tuple[int, str, float]]:
    order = np.argsort(-scores, kind='stable')[:k]
    return [(int(i), labels[i] if labels is not None else str(int(i)), float(scores[i]))
            for i in order]


def _topk_dicts(topk: Sequence[Tuple[int, str, float]]) -> List[dict]:
    return [dict(index=index, label=label, score=round(score, 6))
            for index, label, score in topk]


def _info_dict(info: VideoInfo) -> dict:
    return dict(frames=info.num_frames, fps=round(info.fps, 3), height=info.height,
                width=info.width)


# ------------------------------------------------------------------------------ running


class _Streams:
    """The RGB stream, and optionally a flow stream fused with it, on the same frames."""

    def __init__(self, rgb: VideoRecognizer, flow: Optional[VideoRecognizer],
                 fusion_alpha: float, clip_len: Optional[int] = None,
                 amp: Precision = None, decoder: Decoder = 'auto',
                 decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT) -> None:
        if flow is None:
            self.streams = OrderedDict([(rgb.modality.lower(), rgb)])
        else:
            if rgb.modality != 'RGB' or flow.modality != 'Flow':
                raise RecognizerLoadError(
                    f'two streams need an RGB recognizer and a flow one; got {rgb.modality} '
                    f'({rgb.name}) and {flow.modality} ({flow.name})')
            if rgb.num_classes != flow.num_classes:
                raise RecognizerLoadError(
                    f'the streams have {rgb.num_classes} ({rgb.name}) and {flow.num_classes} '
                    f'({flow.name}) classes')
            if not 0.0 <= fusion_alpha <= 1.0:
                raise ValueError(f'fusion_alpha must be in [0, 1], got {fusion_alpha}')
            self.streams = OrderedDict([('rgb', rgb), ('flow', flow)])
        self.alpha = fusion_alpha
        amp_dtype(amp)  # an unknown name fails here, before any video
        self.amp = amp
        lengths = {name: stream.clip_len for name, stream in self.streams.items()}
        if clip_len is None and len(set(lengths.values())) > 1:
            raise RecognizerLoadError(
                f'the streams see clips of different lengths: {lengths} frames; pass the '
                f'window length to use for both')
        self.clip_len = clip_len or next(iter(lengths.values()))
        pipelines = {name: stream.clip_pipeline(self.clip_len)
                     for name, stream in self.streams.items()}
        intervals = {pipeline.frame_interval for pipeline in pipelines.values()}
        if len(intervals) > 1:
            raise RecognizerLoadError(f'the streams take frames at different intervals: '
                                      f'{intervals}')
        self.frame_interval = intervals.pop()
        self.preparer = ClipPreparer(rgb.name, rgb.test_pipeline, pipelines,
                                     self.frame_interval, decoder, decode_timeout)
        self.frames_per_clip = self.preparer.frames_per_clip
        self.labels = next((s.labels for s in self.streams.values() if s.labels), None)

    def run(self, samples: Dict[str, List[dict]]) -> Dict[str, list]:
        """Each stream's predictions of its samples (one batch per stream), under the
        ``amp`` autocast on the stream's device."""
        outputs = {}
        for name, stream in self.streams.items():
            device = next(stream.model.parameters()).device
            with torch.no_grad(), autocast(device, self.amp):
                outputs[name] = stream.model.test_step(pseudo_collate(samples[name]))
        return outputs

    def fuse(self, per_stream: Dict[str, torch.Tensor]) -> torch.Tensor:
        if len(per_stream) == 1:
            return next(iter(per_stream.values()))
        return fuse_scores(per_stream['rgb'], per_stream['flow'], self.alpha)


def _source_name(source: VideoInput, index: int) -> str:
    if isinstance(source, Video):
        return source.name
    return str(source) if isinstance(source, str) else f'<frames {index}>'


def _predict_prepared(streams: _Streams, prepared: PreparedVideo, topk: int) -> Prediction:
    outputs = streams.run({name: [sample] for name, sample in prepared.samples.items()})
    videos = {name: output[0].pred_score.cpu() for name, output in outputs.items()}
    per_clip = {name: output[0].clip_scores.cpu() for name, output in outputs.items()}
    result = _scores(streams.fuse(videos), streams.fuse(per_clip), topk, streams.labels)
    stream_scores = ({name: _scores(videos[name], per_clip[name], topk, streams.labels)
                      for name in streams.streams} if len(streams.streams) > 1 else {})
    return Prediction(prepared.name, prepared.info, prepared.clip_frames, prepared.looped,
                      result, stream_scores)


def _scores(video: torch.Tensor, clips: torch.Tensor, k: int,
            labels: Optional[List[str]]) -> StreamScores:
    video_np = video.float().numpy()
    return StreamScores(video_np, clips.float().numpy(), _topk(video_np, k, labels))


def iter_predict(recognizer: VideoRecognizer,
                 videos: Sequence[VideoInput],
                 topk: int = 5,
                 flow: Optional[VideoRecognizer] = None,
                 fusion_alpha: float = 0.5,
                 errors: str = 'raise',
                 workers: int = 0,
                 amp: Precision = None,
                 decoder: Decoder = 'auto',
                 decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT
                 ) -> Iterator[Prediction]:
    """``predict``'s predictions one by one, in the order of ``videos``, as they are ready
    (arguments: ``predict``'s)."""
    if errors not in ('raise', 'keep'):
        raise ValueError(f"errors must be 'raise' or 'keep', got {errors!r}")
    sources = list(videos)
    if workers and any(isinstance(source, Video) for source in sources):
        raise ValueError('loading workers take video files or frames, not opened Video '
                         'objects: pass their paths, or workers=0')
    streams = _Streams(recognizer, flow, fusion_alpha, amp=amp, decoder=decoder,
                       decode_timeout=decode_timeout)
    for index, prepared, error in prepared_in_order(sources, streams.preparer, workers):
        if error is None:
            yield _predict_prepared(streams, prepared, topk)
            continue
        name = _source_name(sources[index], index)
        if errors == 'raise':
            raise VideoReadError(name, error)
        yield Prediction(name, error=error)


def predict(recognizer: VideoRecognizer,
            videos: Union[VideoInput, Sequence[VideoInput]],
            topk: int = 5,
            flow: Optional[VideoRecognizer] = None,
            fusion_alpha: float = 0.5,
            errors: str = 'raise',
            progress: bool = False,
            workers: int = 0,
            amp: Precision = None,
            decoder: Decoder = 'auto',
            decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT
            ) -> Union[Prediction, List[Prediction]]:
    """Recognize the action in each video with the config's multi-clip test.

    Args:
        recognizer (VideoRecognizer): from ``load_recognizer``.
        videos: a video file, frames in memory (``T x H x W x 3`` uint8 RGB), a ``Video``,
            or a list of them.
        topk (int): classes reported per video. Default: 5.
        flow (VideoRecognizer, optional): a flow stream; its flow is computed on the fly
            from the same frames (each clip reads L+1 frames, the RGB stream sees the first
            L) and the scores are fused ``alpha * rgb + (1 - alpha) * flow`` per video and
            per clip. Default: None.
        fusion_alpha (float): the RGB weight of the fusion. Default: 0.5.
        errors (str): ``'raise'`` a ``VideoReadError`` for an unreadable video, or
            ``'keep'`` going: its ``Prediction`` then holds the ``error``. Default: 'raise'.
        progress (bool): a progress bar over the videos. Default: False.
        workers (int): loading processes that decode and prepare the videos while the
            network runs (``video_workers``: input order, memory bounded, a video that
            crashes its decoder costs only itself); 0 decodes in this process. Default: 0.
        amp (str, optional): ``'bf16'`` or ``'fp16'``: run the networks under autocast in
            that precision (``engine.device.autocast``). Default: None (float32).
        decoder (str | type): the video decoder (``data.decoders``). Default: ``'auto'``.
        decode_timeout (float, optional): seconds a decoder call may take before the video
            fails as hung (its ``error`` with ``errors='keep'``); None: no limit.
            Default: ``DEFAULT_DECODE_TIMEOUT``.

    Returns:
        Prediction | list[Prediction]: one per video (a list for a list).
    """
    single = not isinstance(videos, (list, tuple))
    sources = [videos] if single else list(videos)
    predictions = list(tqdm(iter_predict(recognizer, sources, topk, flow, fusion_alpha,
                                         errors, workers, amp, decoder, decode_timeout),
                            total=len(sources), unit='video', disable=not progress))
    return predictions[0] if single else predictions


def _batches(iterable: Iterator, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while True:
        batch = list(islice(iterator, size))
        if not batch:
            return
        yield batch


def timeline(recognizer: VideoRecognizer,
             video: VideoInput,
             window: Optional[int] = None,
             stride: Optional[int] = None,
             flow: Optional[VideoRecognizer] = None,
             fusion_alpha: float = 0.5,
             batch_size: int = 8,
             progress: bool = False,
             amp: Precision = None,
             decoder: Decoder = 'auto',
             decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT) -> Timeline:
    """Scores of every window of a (long) video, decoded as a stream in bounded memory.

    Windows follow the window rule of ``r21d_plugin.apis.video``: ``window`` network frames
    taken every ``frame_interval`` source frames (the config's), starting every ``stride``
    frames while the whole window lies in the video. Each window is one clip, prepared by
    the config's test pipeline (its crops averaged, as in the test).

    Args:
        recognizer (VideoRecognizer): from ``load_recognizer``.
        video: a video file, frames in memory, or a ``Video``.
        window (int, optional): frames per window as the network sees them. Default: the
            config's clip length.
        stride (int, optional): source frames between window starts. Default:
            ``frames * frame_interval`` (windows tile the video).
        flow (VideoRecognizer, optional): a flow stream, fused as in ``predict``.
        fusion_alpha (float): the RGB weight of the fusion. Default: 0.5.
        batch_size (int): windows per forward pass. Default: 8.
        progress (bool): a progress bar over the windows. Default: False.
        amp (str, optional): ``'bf16'`` or ``'fp16'`` autocast, as in ``predict``.
        decoder (str | type), decode_timeout (float, optional): as in ``predict``.

    Raises:
        VideoReadError: the video cannot be read (naming it and why).
    """
    streams = _Streams(recognizer, flow, fusion_alpha, window, amp, decoder, decode_timeout)
    video = streams.preparer.open(video)
    resized = streams.preparer.resized(video)
    interval, frames = streams.frame_interval, streams.frames_per_clip
    stride = stride or default_stride(frames, interval)
    starts = window_starts(video.num_frames, frames, stride, interval)
    per_stream: Dict[str, List[torch.Tensor]] = {name: [] for name in streams.streams}
    windows = tqdm(video.windows(frames, stride, interval), total=len(starts),
                   unit='window', disable=not progress, leave=False)
    for batch in _batches(windows, batch_size):
        samples = {name: [streams.preparer.pack(name, [clip], resized) for _, clip in batch]
                   for name in streams.streams}
        for name, outputs in streams.run(samples).items():
            per_stream[name].extend(output.pred_score.cpu() for output in outputs)
    stacked = {name: torch.stack(scores).float() for name, scores in per_stream.items()}
    return Timeline(video.name, video.info, streams.clip_len, stride, interval, frames,
                    np.asarray(starts), streams.fuse(stacked).numpy(),
                    ({name: scores.numpy() for name, scores in stacked.items()}
                     if len(stacked) > 1 else {}), streams.labels)
