"""Pipelines with other clips or crops, derived from a base config's pipelines.

Configs call these on their base's pipelines (``_base_.train_pipeline`` ...), so a variant
(16-frame clips, 100 test clips, three crops) restates only what differs and keeps every
other step of the base recipe; ``two_stream_pipeline.flow_pipeline`` does the same for the
flow stream.
"""
from typing import List, Sequence

#: ``PackActionInputs``' default meta keys (mmaction2 1.2).
PACK_META_KEYS = ('img_shape', 'img_key', 'video_id', 'timestamp')


def _step_type(step: dict) -> str:
    return step['type'] if isinstance(step['type'], str) else step['type'].__name__


def _with_sampler(pipeline: Sequence[dict], **changes) -> List[dict]:
    types = [_step_type(step) for step in pipeline]
    if types.count('SampleFrames') != 1:
        raise ValueError(f'expected one SampleFrames step in the pipeline, found '
                         f'{types.count("SampleFrames")}: {types}')
    return [dict(step, **changes) if step_type == 'SampleFrames' else dict(step)
            for step, step_type in zip(pipeline, types)]


def with_clip_len(pipeline: Sequence[dict], clip_len: int) -> List[dict]:
    """The pipeline with clips of ``clip_len`` frames as the model sees them.

    ``SampleFrames`` draws ``clip_len`` consecutive frames, or ``clip_len + 1`` when the
    pipeline computes flow on the fly (``FarnebackFlow``: L+1 frames give L flow frames).
    """
    if isinstance(clip_len, bool) or not isinstance(clip_len, int) or clip_len < 1:
        raise ValueError(f'clip_len must be a positive integer, got {clip_len!r}')
    on_the_fly_flow = any(_step_type(step) == 'FarnebackFlow' for step in pipeline)
    return _with_sampler(pipeline, clip_len=clip_len + int(on_the_fly_flow))


def with_num_clips(pipeline: Sequence[dict], num_clips: int) -> List[dict]:
    """The pipeline drawing ``num_clips`` clips per video (uniformly spaced in test mode)."""
    if isinstance(num_clips, bool) or not isinstance(num_clips, int) or num_clips < 1:
        raise ValueError(f'num_clips must be a positive integer, got {num_clips!r}')
    return _with_sampler(pipeline, num_clips=num_clips)


def with_three_crop(pipeline: Sequence[dict], crop_size: int) -> List[dict]:
    """A test pipeline taking three square crops per clip instead of one center crop.

    MMAction2's ``ThreeCrop`` takes the left, center and right (or top, center, bottom)
    ``crop_size`` squares, so ``crop_size`` must be the short side of the resized frames
    (128 after the paper's 128x171 resize). ``PackActionInputs`` keeps ``num_clips`` in the
    metainfo, so ``MultiClipRecognizer3D`` averages each clip's crops into its clip score.
    """
    types = [_step_type(step) for step in pipeline]
    if types.count('CenterCrop') != 1 or types.count('PackActionInputs') != 1:
        raise ValueError(f'expected one CenterCrop and one PackActionInputs step, got {types}')
    steps = []
    for step, step_type in zip(pipeline, types):
        step = dict(step)
        if step_type == 'CenterCrop':
            step = dict(type='ThreeCrop', crop_size=crop_size)
        elif step_type == 'PackActionInputs':
            meta_keys = tuple(step.get('meta_keys', PACK_META_KEYS))
            if 'num_clips' not in meta_keys:
                step['meta_keys'] = meta_keys + ('num_clips', )
        steps.append(step)
    return steps
