"""TwoStreamClipVideoAccuracy: ClipVideoAccuracy of each stream and of the fusion."""
import numpy as np
import pytest
import torch

import r21d_plugin  # noqa: F401
from mmaction.registry import METRICS
from r21d_plugin.evaluation import ClipVideoAccuracy


def sample(label, rgb_clips, flow_clips, alpha=0.5):
    rgb_clips, flow_clips = torch.tensor(rgb_clips), torch.tensor(flow_clips)
    fused = alpha * rgb_clips + (1 - alpha) * flow_clips
    return dict(gt_label=torch.tensor([label]), rgb_score=rgb_clips.mean(0),
                rgb_clip_scores=rgb_clips, flow_score=flow_clips.mean(0),
                flow_clip_scores=flow_clips, pred_score=fused.mean(0), clip_scores=fused)


SAMPLES = [
    # label 0: RGB right on both clips, flow wrong on both, fused right
    sample(0, [[.9, .1], [.8, .2]], [[.3, .7], [.4, .6]]),
    # label 1: RGB wrong on one clip and on the video, flow right, fused right
    sample(1, [[.9, .1], [.4, .6]], [[.1, .9], [.2, .8]]),
]


def test_each_stream_gets_the_metrics_of_clip_video_accuracy():
    metric = METRICS.build(dict(type='TwoStreamClipVideoAccuracy', topk=(1, )))
    metric.dataset_meta = {}
    metric.process({}, SAMPLES)
    assert len(metric.results) == len(SAMPLES)  # one result per video, all streams in it
    metrics = metric.evaluate(size=len(SAMPLES))
    assert metrics['rgb/video@1'] == 0.5 and metrics['rgb/clip@1'] == 0.75
    assert metrics['flow/video@1'] == 0.5 and metrics['flow/clip@1'] == 0.5
    assert metrics['two_stream/video@1'] == 1.0
    # Exactly what ClipVideoAccuracy reports on the fused fields alone.
    plain = ClipVideoAccuracy(topk=(1, ))
    plain.process({}, SAMPLES)
    for name, value in plain.evaluate(size=len(SAMPLES)).items():
        assert metrics[f'two_stream/{name.split("/")[-1]}'] == pytest.approx(value)


def test_missing_stream_fields_are_named():
    metric = METRICS.build(dict(type='TwoStreamClipVideoAccuracy'))
    bad = dict(SAMPLES[0])
    del bad['flow_clip_scores']
    with pytest.raises(KeyError, match='"flow_score" and "flow_clip_scores".*'
                       'TwoStreamRecognizer'):
        metric.process({}, [bad])
