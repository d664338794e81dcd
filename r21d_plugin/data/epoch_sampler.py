"""Epochs of a fixed number of clips, whatever the dataset's size (paper section 4.1).

The paper trains on Kinetics (~240k videos) with "epochs" of 1M clips: with temporal
jittering every draw of a video is a different random window, so an epoch is a number of
draws, not a pass over the videos. VMZ does the same (``epoch_size``), and so does its
UCF101 / HMDB51 fine-tuning (100k / 40k clips per epoch).
"""
import math
from typing import Iterator, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmaction.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class FixedLengthEpochSampler(Sampler):
    """Yield ``num_samples`` dataset indices per epoch, split over the processes.

    The epoch is cut from a stream of passes over the dataset, each pass a fresh random
    permutation, so within an epoch every video is drawn ``num_samples / len(dataset)``
    times, to within one (a dataset larger than ``num_samples`` gives a random subset of
    distinct videos). The stream depends only on
    ``seed`` and the epoch (``set_epoch``), so every process builds the same one and takes
    every ``world_size``-th index from its rank on: each process gets
    ``ceil(num_samples / world_size)`` indices, the total rounded up to a multiple of the
    world size so that all processes run the same number of iterations.

    Use it as ``train_dataloader.sampler``; with the temporal jittering of a training
    pipeline (``SampleFrames`` with ``num_clips=1``, not ``test_mode``) every draw is a new
    random clip.

    Args:
        dataset (Sized): the dataset (filled in by the runner).
        num_samples (int): indices per epoch over all processes (the paper: 1,000,000).
        seed (int, optional): random seed, the same on every process; ``None`` draws one and
            shares it across processes (as mmengine's ``DefaultSampler``).
    """

    def __init__(self, dataset: Sized, num_samples: int, seed: Optional[int] = None) -> None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) \
                or num_samples < 1:
            raise ValueError(f'num_samples (indices per epoch) must be a positive integer, '
                             f'got {num_samples!r}')
        if len(dataset) == 0:
            raise ValueError('FixedLengthEpochSampler got an empty dataset: check the '
                             "dataset's annotation file")
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.num_samples = math.ceil(num_samples / self.world_size)
        self.total_size = self.num_samples * self.world_size

    def epoch_indices(self) -> torch.Tensor:
        """All ``total_size`` indices of the current epoch, before the split by rank."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        dataset_size = len(self.dataset)
        num_passes = math.ceil(self.total_size / dataset_size)
        # One random permutation per pass (argsort of uniform keys, row by row).
        passes = torch.rand(num_passes, dataset_size, generator=generator).argsort(dim=1)
        return passes.flatten()[:self.total_size]

    def __iter__(self) -> Iterator[int]:
        indices = self.epoch_indices()[self.rank:self.total_size:self.world_size]
        return iter(indices.tolist())

    def __len__(self) -> int:
        """Indices per process and epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Draw the next epoch's stream (the runner calls this before every epoch)."""
        self.epoch = epoch
