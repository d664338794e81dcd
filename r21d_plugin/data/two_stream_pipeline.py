"""Data pipelines of the flow stream and of the two-stream test, derived from an RGB one.

Configs call these on their RGB dataset base's pipelines, so the frames, crops and clip
positions stay those of the RGB recipe:

* ``flow_pipeline``: each clip draws L+1 frames, goes through the RGB resize / crop / flip,
  then ``FarnebackFlow`` turns it into L flow frames (the paper's on-the-fly flow).
* ``two_stream_pipeline``: the same, but ``FarnebackFlow(keep_rgb=True)`` keeps the first L
  RGB frames of every clip beside its L flow frames, and both are packed
  (``inputs = dict(imgs=..., flow_imgs=...)``) for ``TwoStreamRecognizer``: both streams
  see the same temporal windows and the same crop of a video.
"""
from typing import List, Sequence

#: Input key of the flow clips in a two-stream sample (``TwoStreamRecognizer`` default).
FLOW_INPUTS_KEY = 'flow_imgs'


def _step_type(step: dict) -> str:
    return step['type'] if isinstance(step['type'], str) else step['type'].__name__


def _with_flow(rgb_pipeline: Sequence[dict], keep_rgb: bool) -> List[dict]:
    types = [_step_type(step) for step in rgb_pipeline]
    for required in ('SampleFrames', 'FormatShape', 'PackActionInputs'):
        if types.count(required) != 1:
            raise ValueError(f'expected one {required} step in the RGB pipeline, found '
                             f'{types.count(required)}: {types}')
    if 'FarnebackFlow' in types:
        raise ValueError('the pipeline already computes flow (FarnebackFlow); pass the RGB '
                         'pipeline')
    steps = []
    for step, step_type in zip(rgb_pipeline, types):
        step = dict(step)
        if step_type == 'SampleFrames':
            step['clip_len'] = step['clip_len'] + 1  # L+1 frames give L flow frames
        elif step_type == 'FormatShape':
            steps.append(dict(type='FarnebackFlow', keep_rgb=keep_rgb))
            if keep_rgb:
                steps.append(step)
                step = dict(type='KeyMapper', mapping=dict(imgs=FLOW_INPUTS_KEY),
                            auto_remap=True, transforms=[dict(step)])
        elif step_type == 'PackActionInputs' and keep_rgb:
            step['collect_keys'] = ('imgs', FLOW_INPUTS_KEY)
        steps.append(step)
    return steps


def flow_pipeline(rgb_pipeline: Sequence[dict]) -> List[dict]:
    """The flow stream's pipeline: the RGB one with L+1 frames and ``FarnebackFlow``."""
    return _with_flow(rgb_pipeline, keep_rgb=False)


def two_stream_pipeline(rgb_pipeline: Sequence[dict]) -> List[dict]:
    """RGB and flow clips of the same frames, packed together for ``TwoStreamRecognizer``."""
    return _with_flow(rgb_pipeline, keep_rgb=True)
