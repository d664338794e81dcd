"""FixedLengthEpochSampler: epochs of a fixed number of draws, balanced, split over ranks."""
from collections import Counter
from unittest import mock

import pytest
import torch
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from mmaction.registry import DATA_SAMPLERS
from r21d_plugin.data.epoch_sampler import FixedLengthEpochSampler


def _sampler(dataset_size, num_samples, seed=0, rank=0, world_size=1):
    with mock.patch('r21d_plugin.data.epoch_sampler.get_dist_info',
                    return_value=(rank, world_size)):
        return FixedLengthEpochSampler(range(dataset_size), num_samples, seed=seed)


def test_registered_and_built_like_the_runner_does():
    init_default_scope('mmaction')
    sampler = DATA_SAMPLERS.build(
        dict(type='FixedLengthEpochSampler', num_samples=50),
        default_args=dict(dataset=list(range(7)), seed=3))
    assert isinstance(sampler, FixedLengthEpochSampler)
    assert len(sampler) == 50 and len(list(sampler)) == 50


@pytest.mark.parametrize('dataset_size, num_samples', [(7, 50), (10, 10), (3, 1000),
                                                       (100, 30)])
def test_epoch_has_num_samples_and_every_video_drawn_evenly(dataset_size, num_samples):
    indices = list(_sampler(dataset_size, num_samples))
    assert len(indices) == num_samples
    assert all(0 <= i < dataset_size for i in indices)
    counts = Counter(indices)
    if num_samples >= dataset_size:
        assert set(counts) == set(range(dataset_size))
    # Whole passes plus one partial pass: counts differ by at most one.
    assert max(counts.values()) - min(counts.values()) <= 1
    assert max(counts.values()) == -(-num_samples // dataset_size)


def test_each_pass_is_a_permutation():
    indices = list(_sampler(9, 45))
    for start in range(0, 45, 9):
        assert sorted(indices[start:start + 9]) == list(range(9))


def test_deterministic_per_seed_and_epoch_and_reshuffled_each_epoch():
    first, again, other_seed = _sampler(20, 60), _sampler(20, 60), _sampler(20, 60, seed=1)
    assert list(first) == list(again)
    assert list(first) != list(other_seed)
    epoch0 = list(first)
    first.set_epoch(1)
    again.set_epoch(1)
    assert list(first) == list(again) != epoch0
    assert Counter(list(first)) == Counter(epoch0)  # same balance, new order


@pytest.mark.parametrize('world_size', [2, 3, 4])
def test_ranks_split_one_stream_evenly(world_size):
    num_samples, dataset_size = 101, 13
    samplers = [_sampler(dataset_size, num_samples, seed=5, rank=r, world_size=world_size)
                for r in range(world_size)]
    per_rank = -(-num_samples // world_size)
    assert all(len(s) == per_rank for s in samplers)
    for sampler in samplers:
        sampler.set_epoch(2)
    rank_indices = [list(s) for s in samplers]
    assert all(len(ids) == per_rank for ids in rank_indices)
    # Interleaving the ranks gives back the single stream of the epoch.
    stream = samplers[0].epoch_indices().tolist()
    assert len(stream) == per_rank * world_size
    for rank, ids in enumerate(rank_indices):
        assert ids == stream[rank::world_size]
    single = _sampler(dataset_size, per_rank * world_size, seed=5)
    single.set_epoch(2)
    assert list(single) == stream


def test_large_epoch_is_cheap_to_draw():
    sampler = _sampler(240_000, 1_000_000)
    indices = sampler.epoch_indices()
    assert indices.shape == (1_000_000, ) and indices.dtype == torch.int64
    counts = torch.bincount(indices, minlength=240_000)
    assert counts.min() >= 4 and counts.max() <= 5


@pytest.mark.parametrize('num_samples', [0, -5, 2.5, True])
def test_bad_num_samples(num_samples):
    with pytest.raises(ValueError, match='num_samples'):
        _sampler(10, num_samples)


def test_empty_dataset():
    with pytest.raises(ValueError, match='empty dataset'):
        _sampler(0, 10)
