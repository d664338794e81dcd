"""Pipelines with other clips, derived from a base config's pipelines.

Configs call these on their base's pipelines (``_base_.train_pipeline`` ...), so a variant
(16-frame clips, 100 test clips) restates only what differs and keeps every other step of
the base recipe; ``two_stream_pipeline.flow_pipeline`` does the same for the flow stream.
"""
from typing import List, Sequence


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
