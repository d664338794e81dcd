"""A config's test preprocessing, applied to clips that are already decoded.

MMAction2's test pipeline loads a file, samples clip positions, decodes, then resizes, crops
and packs. The use side decodes once as a stream (``video.Video.windows``) and chooses its
own clip positions, so ``ClipPipeline`` keeps the config's steps after decoding (resize,
crops, flow, format, pack) and reads the clip length and frame interval from its
``SampleFrames`` step: the clips then get exactly the preprocessing the network was tested
with.
"""
from typing import List, Optional, Sequence

import numpy as np
from mmcv.transforms import Compose

from ..data.pipelines import computes_flow, network_clip_len, with_clip_len

#: Steps that open, sample or decode a file: the stream reader does their work.
LOADING_STEPS = frozenset({
    'DecordInit', 'DecordDecode', 'OpenCVInit', 'OpenCVDecode', 'PyAVInit', 'PyAVDecode',
    'RawFrameDecode', 'SampleFrames', 'UniformSample', 'UniformSampleFrames',
    'DenseSampleFrames', 'ImageDecode', 'LoadRGBFromFile'})


def _step_type(step: dict) -> str:
    return step['type'] if isinstance(step['type'], str) else step['type'].__name__


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
        self.transforms = Compose([TRANSFORMS.build(dict(step)) for step in self.steps])

    def with_clip_len(self, clip_len: int) -> List[dict]:
        """The test pipeline with clips of ``clip_len`` network frames."""
        return with_clip_len(self.test_pipeline, clip_len)

    def __call__(self, clips: Sequence[np.ndarray]) -> dict:
        """Pack ``clips`` (each ``frames_per_clip x H x W x 3`` uint8 RGB) as one sample.

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
        return self.transforms(results)
