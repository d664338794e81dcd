"""ClipVideoAccuracy and accuracy-vs-clips on hand-made scores."""
import numpy as np
import pytest
import torch

from r21d_plugin.evaluation import (ClipVideoAccuracy, DumpError, accuracy_vs_num_clips,
                                    clip_scores_from_dump, mean_class_accuracy,
                                    plot_accuracy_vs_num_clips, uniform_clip_subset)

# Four videos, 3 classes, 2 clips each; clip@1 (5/8) and video@1 (3/4) differ.
# Video 0 (label 0): both clips right.
# Video 1 (label 1): clip 0 wrong (says 2), clip 1 right, softmax mean right.
# Video 2 (label 2): clip 0 right but weakly, clip 1 confidently wrong (says 0): mean wrong.
# Video 3 (label 1): clip 0 confidently right, clip 1 weakly wrong (says 0): mean right.
CLIPS = np.array([
    [[0.8, 0.1, 0.1], [0.6, 0.3, 0.1]],
    [[0.1, 0.4, 0.5], [0.1, 0.8, 0.1]],
    [[0.3, 0.3, 0.4], [0.9, 0.05, 0.05]],
    [[0.2, 0.7, 0.1], [0.5, 0.4, 0.1]],
], dtype=np.float32)
LABELS = np.array([0, 1, 2, 1])


def _samples(clips=CLIPS, labels=LABELS):
    return [dict(gt_label=torch.tensor([label]), pred_score=torch.from_numpy(c.mean(0)),
                 clip_scores=torch.from_numpy(c)) for c, label in zip(clips, labels)]


def test_clip_at_1_counts_clips_and_video_at_1_averages_them():
    metric = ClipVideoAccuracy(topk=(1, 2))
    metric.process(None, _samples())
    metrics = metric.evaluate(4)
    # Clips right: 2 + 1 + 1 + 1 of 8. Videos right: 0, 1 and 3 of 4.
    assert metrics['acc/clip@1'] == 5 / 8
    assert metrics['acc/video@1'] == 3 / 4
    # Video 2's mean is [0.6, 0.175, 0.225]: label 2 is second.
    assert metrics['acc/video@2'] == 1.0
    # Classes 0 and 1 all right, class 2 all wrong.
    assert metrics['acc/mean_class_accuracy'] == pytest.approx(2 / 3)
    assert list(metrics)[0] == 'acc/video@1'  # CheckpointHook's save_best='auto' picks it


def test_prefix_names_the_stream():
    metric = ClipVideoAccuracy(prefix='rgb')
    metric.process(None, _samples())
    assert set(metric.evaluate(4)) == {'rgb/video@1', 'rgb/video@5', 'rgb/clip@1',
                                       'rgb/mean_class_accuracy'}


def test_samples_without_clip_scores_get_a_clear_error():
    metric = ClipVideoAccuracy()
    sample = _samples()[0]
    del sample['clip_scores']
    with pytest.raises(KeyError, match='MultiClipRecognizer3D'):
        metric.process(None, [sample])
    with pytest.raises(ValueError, match='topk must contain 1'):
        ClipVideoAccuracy(topk=(5, ))


def test_mean_class_accuracy_ignores_classes_absent_from_the_labels():
    scores = np.array([[0.9, 0.1, 0.0], [0.1, 0.0, 0.9]])  # predicts 0 and 2
    labels = np.array([0, 0])  # class 2 never appears: per-class 0: 1/2
    assert mean_class_accuracy(scores, labels) == pytest.approx(0.5)


def test_uniform_subsets_spread_over_the_tested_clips():
    np.testing.assert_array_equal(uniform_clip_subset(10, 1), [5])
    np.testing.assert_array_equal(uniform_clip_subset(10, 2), [2, 7])
    np.testing.assert_array_equal(uniform_clip_subset(10, 10), np.arange(10))
    with pytest.raises(ValueError, match='num_clips'):
        uniform_clip_subset(10, 11)


def test_accuracy_vs_num_clips_by_hand():
    curve = accuracy_vs_num_clips(CLIPS, LABELS)
    # n=1 takes clip 1 of each video: right, right, wrong, wrong. n=2 is video@1.
    assert curve == {1: 2 / 4, 2: 3 / 4}
    four = np.concatenate([CLIPS, CLIPS[:, ::-1]], axis=1)  # clips 0,1,1,0
    assert accuracy_vs_num_clips(four, LABELS, num_clips=[1])[1] == 2 / 4
    with pytest.raises(ValueError, match='videos, clips, classes'):
        accuracy_vs_num_clips(CLIPS[0], LABELS)


def test_dump_records_and_plot(tmp_path):
    records = [dict(clip_scores=c, gt_label=np.array([label]), pred_score=c.mean(0))
               for c, label in zip(CLIPS, LABELS)]
    scores, labels = clip_scores_from_dump(records)
    assert scores.shape == (4, 2, 3) and labels.tolist() == [0, 1, 2, 1]
    with pytest.raises(DumpError, match='MultiClipRecognizer3D'):
        clip_scores_from_dump([dict(gt_label=np.array([0]))])
    with pytest.raises(ValueError, match='different numbers of clips'):
        clip_scores_from_dump(records + [dict(clip_scores=CLIPS[0, :1], gt_label=[0])])
    out = tmp_path / 'curve.png'
    plot_accuracy_vs_num_clips({'net': accuracy_vs_num_clips(scores, labels)}, str(out))
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
