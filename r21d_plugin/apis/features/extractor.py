"""The networks reduced to one layer's features, for windows of a video.

``WindowPreparer`` (the CPU half: windows and each stream's preprocessing, run by loading
workers), ``FeatureExtractor`` (the networks up to the chosen stage) and
``extract_video_features`` (one video, in order, as a stream). The package docstring says
what the windows, layers and two streams are.
"""
import os.path as osp
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from ...data.decoders import DEFAULT_DECODE_TIMEOUT, Decoder
from ...data.pipelines import computes_flow, with_clip_len
from ...engine.device import amp_dtype, autocast
from ...models.positions import FEATURE_LAYERS
from ..clip_pipeline import ClipPipeline, config_test_pipeline, shared_frame_transform
from ..video import Video, VideoSource, default_stride, open_video, window_starts
from .runtime import VERIFY_CLIPS, feature_runner, graph_key, verify_features

#: ``--layer`` names -> backbone stage (``out_indices``; ``models.positions``).
LAYER_STAGES = FEATURE_LAYERS
#: Frames of the blank window that checks a setup (and measures its features) at start.
PROBE_FRAME_SIZE = (128, 171)


def _required_test_pipeline(cfg) -> List[dict]:
    pipeline = config_test_pipeline(cfg)
    if pipeline is None:
        raise ValueError(f'{cfg.filename}: the config has no test_pipeline, so the '
                         'preprocessing its network expects is unknown')
    return pipeline


class WindowPreparer:
    """The CPU half of extraction: windows of a video, and each stream's preprocessing.

    It holds no model, so DataLoader workers run it while the main process runs the
    network.

    Args:
        pipelines (dict[str, list[dict]]): each stream's test pipeline (``'rgb'``, and
            ``'flow'`` for two streams, whose pipeline computes flow on the fly).
        stride (int, optional): frames from one window's start to the next. Default:
            ``clip_len * frame_interval``.
        decoder (str | type): the video decoder (``data.decoders``). Default: ``'auto'``.
        decode_timeout (float, optional): seconds a decoder call may take before the video
            fails as hung. Default: ``DEFAULT_DECODE_TIMEOUT``.

    Attributes:
        clip_len (int): frames of the RGB stream's clip.
        frame_interval (int): step between a clip's frames.
        frames_per_window (int): frames a window takes, ``clip_len`` (+1 with flow).
    """

    def __init__(self, pipelines: Dict[str, List[dict]], stride: Optional[int] = None,
                 decoder: Decoder = 'auto',
                 decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT) -> None:
        self.pipelines = {name: ClipPipeline(steps) for name, steps in pipelines.items()}
        self.decoder, self.decode_timeout = decoder, decode_timeout
        # the streams' common resize runs on each frame as it is decoded
        self.frame_transform = shared_frame_transform(list(self.pipelines.values()))
        rgb = self.pipelines['rgb']
        self.clip_len, self.frame_interval = rgb.frames_per_clip, rgb.frame_interval
        self.frames_per_window = self.clip_len
        flow = self.pipelines.get('flow')
        if flow is not None:
            if (flow.clip_len, flow.frame_interval) != (self.clip_len, self.frame_interval):
                raise ValueError(
                    f'the flow stream takes {flow.frames_per_clip} frames {flow.frame_interval}'
                    f' apart per clip, the RGB stream {self.clip_len} frames '
                    f'{self.frame_interval} apart; two streams need L+1 and L frames of the '
                    'same spacing')
            self.frames_per_window = flow.frames_per_clip
        self.stride = stride or default_stride(self.clip_len, self.frame_interval)
        if self.stride < 1:
            raise ValueError(f'stride must be positive, got {self.stride}')

    def starts(self, num_frames: int) -> List[int]:
        """First frame of every window of a video of ``num_frames`` frames."""
        return window_starts(num_frames, self.frames_per_window, self.stride,
                             self.frame_interval)

    def open(self, source: VideoSource, name: Optional[str] = None,
             fps: float = 30.0) -> Video:
        """``source`` opened with this preparer's decoder, timeout and frame resize."""
        return open_video(source, name, fps, self.decoder, self.decode_timeout,
                          self.frame_transform)

    def windows(self, video: Video) -> Iterator[Tuple[int, np.ndarray]]:
        """``(start, frames)`` of every window, decoded as a stream."""
        return video.windows(self.frames_per_window, self.stride, self.frame_interval)

    def prepare(self, clips: Sequence[np.ndarray],
                resized: bool = False) -> Dict[str, torch.Tensor]:
        """Each stream's input for the windows' frames (``num_windows x C x T x H x W``);
        ``resized``: the frames went through ``frame_transform`` already."""
        inputs = {}
        for name, pipeline in self.pipelines.items():
            frames = clips if name == 'flow' else [clip[:self.clip_len] for clip in clips]
            packed = pipeline(frames, resized=resized)['inputs']
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
        model (nn.Module): a recognizer with ``model.cfg`` (``apis.loading.load_model``, or
            MMAction2's ``init_recognizer``), whose test pipeline preprocesses the windows.
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
        decoder (str | type), decode_timeout (float, optional): how videos are decoded
            (``WindowPreparer``).

    Attributes:
        preparer (WindowPreparer): the windows and their preprocessing.
        feature_shape (tuple): the shape of one window's feature (with ``keep_map``, for
            frames of ``PROBE_FRAME_SIZE``: after a pipeline without a fixed-size crop,
            ``H' x W'`` follow each video's frame size).
        layout (dict): each stream's channels ``[first, last)`` in a feature.
    """

    def __init__(self, model: nn.Module, layer: str = 'pool5', keep_map: bool = False,
                 clip_len: Optional[int] = None, stride: Optional[int] = None,
                 amp: Optional[str] = None, flow_model: Optional[nn.Module] = None,
                 decoder: Decoder = 'auto',
                 decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT) -> None:
        if layer not in LAYER_STAGES:
            raise ValueError(f'layer must be one of {list(LAYER_STAGES)}, got {layer!r}')
        if keep_map and layer == 'pool5':
            raise ValueError('pool5 is pooled by definition; keep the map of conv5 instead')
        amp_dtype(amp)  # an unknown name fails here
        self.layer, self.keep_map, self.amp = layer, keep_map, amp
        self.runtime, self.runners = 'pytorch', {}
        self.models = dict(rgb=model)
        pipelines = dict(rgb=_required_test_pipeline(model.cfg))
        if computes_flow(pipelines['rgb']):
            raise ValueError(f'{model.cfg.filename} computes flow (FarnebackFlow): give it '
                             'as the flow model, beside an RGB model')
        if flow_model is not None:
            self.models['flow'] = flow_model
            pipelines['flow'] = _required_test_pipeline(flow_model.cfg)
            if not computes_flow(pipelines['flow']):
                raise ValueError(f'{flow_model.cfg.filename}: a flow config whose test '
                                 'pipeline computes flow on the fly (FarnebackFlow) is needed')
        if clip_len is not None:
            pipelines = {name: with_clip_len(steps, clip_len)
                         for name, steps in pipelines.items()}
        self.preparer = WindowPreparer(pipelines, stride, decoder, decode_timeout)
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
            if name in self.runners:  # normalisation, network and pooling in one graph
                features[name] = self.runners[name](inputs[name].float())
                continue
            device = next(model.parameters()).device
            data = model.data_preprocessor(dict(inputs=[inputs[name]], data_samples=None),
                                           False)['inputs']
            clips = data.flatten(0, 1)  # one sample of num_windows clips -> the clips
            with torch.no_grad(), autocast(device, self.amp), _stage_output(
                    model.backbone, LAYER_STAGES[self.layer]):
                out = model.backbone(clips)
            out = out.float()
            features[name] = out if self.keep_map else out.mean(dim=(2, 3, 4))
        return features

    def use_runtime(self, runtime: str, folder: str, onnx: Optional[str] = None
                    ) -> Dict[str, float]:
        """Run the networks in ``runtime`` (``'onnxruntime'``, ``'openvino'``) from here on,
        verified against PyTorch first (``features_runtime``: each stream's graph exported
        to, or reused from, ``folder``; ``onnx`` names the file of a single stream).
        ``'pytorch'`` changes nothing.

        Returns:
            dict[str, float]: each stream's largest difference from PyTorch on random clips,
            relative to its largest feature.

        Raises:
            ValueError: ``amp`` set, a model not on the CPU, or ``onnx`` with two streams.
            RuntimeMismatchError: a graph made for other settings, or features beyond
                ``FEATURE_TOLERANCE``.
        """
        if runtime == 'pytorch':
            return {}
        if self.amp is not None:
            raise ValueError(f'--amp applies to --runtime pytorch: {runtime} runs the '
                             'exported float32 graph')
        if self.device.type != 'cpu':
            raise ValueError(f'--runtime {runtime} runs on the CPU: add --device cpu')
        if onnx is not None and len(self.models) > 1:
            raise ValueError(f'--onnx names one graph; with two streams the graphs are kept '
                             f'in {folder}')
        probe = np.zeros((self.preparer.frames_per_window, ) + PROBE_FRAME_SIZE + (3, ),
                         np.uint8)
        shapes = {name: (VERIFY_CLIPS, ) + tuple(inputs.shape[1:])
                  for name, inputs in self.preparer.prepare([probe]).items()}
        generator = torch.Generator().manual_seed(0)
        clips = {name: (torch.randint(0, 256, shape, generator=generator).float()
                        if shape[1] == 3 else torch.randn(shape, generator=generator) * 2)
                 for name, shape in shapes.items()}
        stage, suffix = LAYER_STAGES[self.layer], '-map' if self.keep_map else ''
        runners = {}
        for name, model in self.models.items():
            key = graph_key(model, stage, self.keep_map, shapes[name][2])
            path = onnx or osp.join(folder, f'{name}-{self.layer}{suffix}-{key[:16]}.onnx')
            runners[name] = feature_runner(model, stage, self.keep_map, clips[name], runtime,
                                           path, key)
        differences = verify_features(runtime, self._stream_features(clips), {
            name: run(clips[name]) for name, run in runners.items()})
        self.runtime, self.runners = runtime, runners
        return differences

    def __call__(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Features of prepared windows (``WindowPreparer.prepare``), float32 on the CPU."""
        return torch.cat(list(self._stream_features(inputs).values()), dim=1).cpu()

    def settings(self) -> dict:
        """What the features depend on (besides the weights), as ``settings.json`` holds it
        (``runtime`` only where it is not PyTorch, as before runtimes were added)."""
        preparer = self.preparer
        runtime = {} if self.runtime == 'pytorch' else dict(runtime=self.runtime)
        return dict(
            **runtime,
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
    resized = (video.frame_transform is not None
               and video.frame_transform == preparer.frame_transform)
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
            inputs = preparer.prepare(clips, resized)
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
        video = extractor.preparer.open(video, name, fps)
    for starts, inputs, _, _ in _window_batches(extractor.preparer, video, batch_size):
        yield from zip(starts, extractor(inputs).numpy())
