"""A config's test preprocessing, applied to clips that are already decoded.

MMAction2's test pipeline loads a file, samples clip positions, decodes, then resizes, crops
and packs. The use side decodes once as a stream (``video.Video.windows``) and chooses its
own clip positions, so ``ClipPipeline`` keeps the config's steps after decoding (resize,
crops, flow, format, pack) and reads the clip length and frame interval from its
``SampleFrames`` step: the clips then get exactly the preprocessing the network was tested
with.

**Resizing while decoding.** When the steps after decoding start with a resize (``Resize``
or ``TorchvisionResize``), ``ClipPipeline.frame_transform`` is that step applied to one
frame: the stream reader applies it to each frame as soon as it is decoded
(``Video(frame_transform=...)``), so a 4K video holds 4K frames only while they are
converted, and the clips are packed with ``resized=True``. The step is the same object and
resizes each frame alone either way, so the clips are exactly those of the whole pipeline.
"""
from typing import Callable, List, Optional, Sequence

import numpy as np
from mmcv.transforms import Compose

from ..data.pipelines import computes_flow, network_clip_len, with_clip_len

#: Resizes that may run on each frame as it is decoded (``ClipPipeline.frame_transform``).
FRAME_RESIZES = frozenset({'Resize', 'TorchvisionResize'})

#: Steps that open, sample or decode a file: the stream reader does their work.
LOADING_STEPS = frozenset({
    'DecordInit', 'DecordDecode', 'OpenCVInit', 'OpenCVDecode', 'PyAVInit', 'PyAVDecode',
    'RawFrameDecode', 'SampleFrames', 'UniformSample', 'UniformSampleFrames',
    'DenseSampleFrames', 'ImageDecode', 'LoadRGBFromFile', 'TorchCodecInit', 'TorchCodecDecode'})


def _step_type(step: dict) -> str:
    return step['type'] if isinstance(step['type'], str) else step['type'].__name__


def shared_frame_transform(pipelines: Sequence['ClipPipeline']
                           ) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    """The ``frame_transform`` of pipelines that all start with the same resize (streams
    reading the same frames), else None: frames are then resized by each pipeline."""
    steps = [pipeline.resize_step for pipeline in pipelines]
    if not steps or steps[0] is None or any(step != steps[0] for step in steps):
        return None
    return pipelines[0].frame_transform


def config_test_pipeline(cfg) -> Optional[List[dict]]:
    """A config's test pipeline (``test_pipeline``, else its test dataset's) as a list of
    step dicts, or None when it has neither."""
    pipeline = cfg.get('test_pipeline')
    if pipeline is None:
        pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline')
    return [dict(step) for step in pipeline] if pipeline else None


class ClipPipeline:
    """The test pipeline of a config for in-memory clips.

    Args:
        test_pipeline (list[dict]): the config's ``test_pipeline`` (or its test dataset's).

    Attributes:
        frames_per_clip (int): source frames each clip takes (``SampleFrames``' clip_len:
            ``data.pipelines.frames_drawn`` of ``clip_len``).
        clip_len (int): frames the network sees per clip.
        computes_flow (bool): the pipeline computes flow on the fly (``FarnebackFlow``).
        frame_interval (int): the step between a clip's frames.
        num_test_clips (int): clips per video of the config's multi-clip test.
    """

    def __init__(self, test_pipeline: Sequence[dict]) -> None:
        from mmaction.registry import TRANSFORMS
        from mmengine.registry import init_default_scope

        init_default_scope('mmaction')
        samplers = [step for step in test_pipeline if _step_type(step) == 'SampleFrames']
        if len(samplers) != 1:
            raise ValueError(f'expected one SampleFrames step in the test pipeline, got '
                             f'{[_step_type(step) for step in test_pipeline]}')
        sampler = samplers[0]
        self.frames_per_clip = int(sampler['clip_len'])
        self.computes_flow = computes_flow(test_pipeline)
        self.clip_len = network_clip_len(test_pipeline)
        self.test_pipeline = [dict(step) for step in test_pipeline]
        self.frame_interval = int(sampler.get('frame_interval', 1))
        self.num_test_clips = int(sampler.get('num_clips', 1))
        self.steps = [dict(step) for step in test_pipeline
                      if _step_type(step) not in LOADING_STEPS]
        built = [TRANSFORMS.build(dict(step)) for step in self.steps]
        self.transforms = Compose(built)
        resizes_first = (bool(self.steps) and _step_type(self.steps[0]) in FRAME_RESIZES
                         and not self.steps[0].get('lazy'))
        #: The leading resize step (a dict), or None.
        self.resize_step = self.steps[0] if resizes_first else None
        self._resize = built[0] if resizes_first else None
        self._after_resize = Compose(built[1:]) if resizes_first else self.transforms

    def with_clip_len(self, clip_len: int) -> List[dict]:
        """The test pipeline with clips of ``clip_len`` network frames."""
        return with_clip_len(self.test_pipeline, clip_len)

    @property
    def frame_transform(self) -> Optional[Callable[[np.ndarray], np.ndarray]]:
        """The leading resize step for one frame (None without one): give it to ``Video``
        and pack with ``resized=True``."""
        return self._resize_frame if self._resize is not None else None

    def _resize_frame(self, frame: np.ndarray) -> np.ndarray:
        results = self._resize(dict(imgs=[frame], img_shape=frame.shape[:2], modality='RGB'))
        return results['imgs'][0]

    def __call__(self, clips: Sequence[np.ndarray], resized: bool = False) -> dict:
        """Pack ``clips`` (each ``frames_per_clip x H x W x 3`` uint8 RGB) as one sample;
        ``resized``: their frames went through ``frame_transform`` already.

        Returns what the config's pipeline returns (``inputs`` with the clips as
        ``num_clips`` and their crops, ``data_samples``), ready for the model's
        ``test_step``.
        """
        if not len(clips):
            raise ValueError('no clips to pack')
        for clip in clips:
            if len(clip) != self.frames_per_clip:
                raise ValueError(f'each clip needs {self.frames_per_clip} frames, got '
                                 f'{len(clip)}')
        frames: List[np.ndarray] = [frame for clip in clips for frame in clip]
        height, width = frames[0].shape[:2]
        results = dict(
            imgs=frames, img_shape=(height, width), original_shape=(height, width),
            num_clips=len(clips), clip_len=self.frames_per_clip,
            frame_interval=self.frame_interval, modality='RGB', start_index=0,
            frame_inds=np.arange(len(frames)), label=-1)
        return (self._after_resize if resized else self.transforms)(results)
