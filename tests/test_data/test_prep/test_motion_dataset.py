"""The embedded motion dataset: deterministic, motion-only labels, readable by MMAction2."""
import argparse
import filecmp
import json
from pathlib import Path

import numpy as np
import pytest

from r21d_plugin.data.prep.motion_dataset import (MOTION_CLASSES, ensure_motion_dataset,
                                             generate_motion_dataset, render_clip,
                                             sample_motion_clip, video_rng)
from r21d_plugin.cli import generate_motion_dataset as tool


def _clip(label, index=0, frame_size=32, num_frames=16, seed=0):
    return sample_motion_clip(video_rng(seed, 'train', index), label, frame_size, num_frames)


def _object_centroid(frame, background):
    """(x, y) centroid of the object's silhouette (pixels unlike the background)."""
    difference = np.abs(frame.astype(np.float32) - background.astype(np.float32)).sum(-1)
    weight = (difference > 30).astype(np.float32)  # object and background contrast
    ys, xs = np.indices(weight.shape)
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


def _best_threshold_accuracy(train_x, train_y, test_x, test_y):
    """Accuracy on the test half of the best 1-D threshold rule fit on the train half."""
    values = np.unique(train_x)
    thresholds = (values[1:] + values[:-1]) / 2  # midpoints: the widest margins
    best = max(((t, sign) for t in thresholds for sign in (1, -1)),
               key=lambda ts: np.mean((ts[1] * (train_x - ts[0]) > 0) == train_y))
    return np.mean((best[1] * (test_x - best[0]) > 0) == test_y)


def test_same_seed_writes_identical_files_and_other_seed_differs(tmp_path):
    counts = dict(train=1, val=1, test=1)
    for name, seed in (('a', 3), ('b', 3), ('c', 4)):
        generate_motion_dataset(str(tmp_path / name), size='test', seed=seed,
                                videos_per_class=counts, progress=False)
    same = filecmp.dircmp(tmp_path / 'a' / 'train', tmp_path / 'b' / 'train')
    assert len(same.same_files) == len(MOTION_CLASSES) and not same.diff_files
    assert filecmp.cmp(tmp_path / 'a' / 'test.txt', tmp_path / 'b' / 'test.txt', shallow=False)
    other = filecmp.dircmp(tmp_path / 'a' / 'train', tmp_path / 'c' / 'train')
    assert len(other.diff_files) == len(MOTION_CLASSES)


@pytest.mark.parametrize('forward', [0, 2, 4, 6])
def test_each_reversed_class_is_its_forward_class_played_backwards(forward):
    clip = _clip(forward)
    reversed_clip = clip.time_reversed()
    assert reversed_clip.label == forward + 1
    frames = render_clip(clip)
    np.testing.assert_array_equal(render_clip(reversed_clip), frames[::-1])
    assert not np.array_equal(frames[0], frames[-1]), 'the object must move'
    # ...and the generator draws the reversed class exactly that way.
    drawn = sample_motion_clip(video_rng(0, 'train', 0), forward + 1, 32, 16)
    np.testing.assert_array_equal(render_clip(drawn), frames[::-1])


def test_motions_go_the_way_their_class_names_say():
    def centroids(label):
        clip = _clip(label, index=5)
        frames = render_clip(clip)
        return [_object_centroid(f, clip.background) for f in (frames[0], frames[-1])]

    (x0, _), (x1, _) = centroids(MOTION_CLASSES.index('move_right'))
    assert x1 > x0 + 3
    (_, y0), (_, y1) = centroids(MOTION_CLASSES.index('move_up'))
    assert y1 < y0 - 3  # image y points down
    clockwise = _clip(MOTION_CLASSES.index('rotate_clockwise'))
    assert np.all(np.diff(clockwise.angles) > 0)  # growing angle = clockwise, y down
    approach = _clip(MOTION_CLASSES.index('approach'))
    assert np.all(np.diff(approach.scales) > 0)


def test_a_single_frame_does_not_tell_the_direction_but_motion_does():
    """Independently drawn move_right / move_left videos: the object's position in one
    frame (drawn at random) predicts the class at chance; its displacement perfectly."""
    rng = np.random.default_rng(1)
    labels, position, displacement = [], [], []
    for index in range(160):
        label = index % 2  # move_right, move_left
        clip = _clip(label, index=index, num_frames=12)
        frames = render_clip(clip)
        first, last = (_object_centroid(f, clip.background)[0] for f in (frames[0], frames[-1]))
        labels.append(label)
        position.append(_object_centroid(frames[rng.integers(12)], clip.background)[0])
        displacement.append(last - first)
    labels, position, displacement = map(np.array, (labels, position, displacement))
    half = len(labels) // 2
    frame_acc = _best_threshold_accuracy(position[:half], labels[:half], position[half:],
                                         labels[half:])
    motion_acc = _best_threshold_accuracy(displacement[:half], labels[:half],
                                          displacement[half:], labels[half:])
    assert motion_acc == 1.0
    assert 0.3 < frame_acc < 0.7


def test_files_read_through_mmaction_videodataset_and_decord(tiny_motion_dataset):
    from mmaction.datasets import VideoDataset
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')

    root = tiny_motion_dataset
    meta = json.loads((root / 'meta.json').read_text())
    assert meta['classes'] == list(MOTION_CLASSES)
    assert (root / 'classes.txt').read_text().split() == list(MOTION_CLASSES)
    pipeline = [dict(type='DecordInit'),
                dict(type='SampleFrames', clip_len=meta['num_frames'], num_clips=1,
                     test_mode=True),
                dict(type='DecordDecode')]
    sizes = {}
    for split, per_class in meta['videos_per_class'].items():
        dataset = VideoDataset(str(root / f'{split}.txt'), pipeline,
                               data_prefix=dict(video=str(root)), test_mode=True)
        sizes[split] = len(dataset)
        labels = [dataset.get_data_info(i)['label'] for i in range(len(dataset))]
        assert sorted(labels) == sorted(list(range(len(MOTION_CLASSES))) * per_class)
    assert sizes == dict(train=16, val=8, test=8)

    sample = dataset[3]
    assert sample['total_frames'] == meta['num_frames']
    decoded = np.stack(sample['imgs'])
    assert decoded.shape == (meta['num_frames'], 32, 32, 3)
    # The file holds the rendered frames (RGB), up to MPEG-4 compression.
    rendered = render_clip(sample_motion_clip(video_rng(0, 'test', 3), 3, 32,
                                              meta['num_frames']))
    assert np.abs(decoded.astype(float) - rendered).mean() < 12


def test_ensure_generates_only_when_missing_or_different(tmp_path):
    counts = dict(train=1, val=1, test=1)
    assert ensure_motion_dataset(str(tmp_path), size='test', videos_per_class=counts,
                                 progress=False)
    assert not ensure_motion_dataset(str(tmp_path), size='test', videos_per_class=counts,
                                     progress=False)
    assert ensure_motion_dataset(str(tmp_path), size='test', seed=1,
                                 videos_per_class=counts, progress=False)
    (tmp_path / 'mine.mp4').write_bytes(b'')
    with pytest.raises(FileExistsError, match='did not write'):
        ensure_motion_dataset(str(tmp_path), size='test', seed=2, progress=False)


def test_bad_arguments_are_named():
    with pytest.raises(KeyError, match='unknown size'):
        generate_motion_dataset('unused', size='huge')
    with pytest.raises(KeyError, match='unknown split'):
        generate_motion_dataset('unused', size='test', videos_per_class=dict(trian=3))
    with pytest.raises(ValueError, match='label must be'):
        _clip(8)


def test_cli_writes_the_dataset_and_rejects_bad_counts(tmp_path, capsys):
    # in-process: a subprocess re-imports MMAction2
    assert tool.main(['--out', str(tmp_path), '--size', 'test', '--videos-per-class',
                      'train=1,val=1,test=1']) == 0
    assert len((tmp_path / 'train.txt').read_text().splitlines()) == len(MOTION_CLASSES)
    assert 'test: ' in capsys.readouterr().out
    assert tool.parse_split_counts('train=3,test=2') == dict(train=3, test=2)
    with pytest.raises(argparse.ArgumentTypeError, match='SPLIT=COUNT'):
        tool.parse_split_counts('train:3')
