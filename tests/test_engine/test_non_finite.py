"""NonFiniteLossHook: a NaN loss stops the run before it reaches the weights (or is skipped)."""
import os

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook

import r21d_plugin  # noqa: F401
from r21d_plugin.engine.checkpoint_loading import load_checkpoint_file
from r21d_plugin.engine.non_finite import SKIPPED_KEY, NonFiniteLossError, NonFiniteLossHook
from test_checkpoint import JitteredPoints, final_weights, make_runner


class PoisonablePoints(JitteredPoints):
    """JitteredPoints whose inputs are all ``poison`` (NaN, inf) while it is set.

    A class attribute: the runner builds its DataLoader from a deep copy of the dataset.
    """

    poison = None

    def __getitem__(self, index):
        sample = super().__getitem__(index)
        if PoisonablePoints.poison is not None:
            sample['inputs'] = torch.full_like(sample['inputs'], PoisonablePoints.poison)
        return sample


class PoisonEpoch(Hook):
    """Poisons every sample of one epoch (runner epoch ``epoch``)."""

    def __init__(self, epoch, value):
        self.epoch, self.value = epoch, value

    def before_train_epoch(self, runner):
        PoisonablePoints.poison = self.value if runner.epoch == self.epoch else None


@pytest.fixture(autouse=True)
def unpoisoned(monkeypatch):
    monkeypatch.setattr(PoisonablePoints, 'poison', None)


def poisoned_runner(work_dir, value=float('nan'), **hook):
    return make_runner(work_dir, dataset=PoisonablePoints(),
                       extra_hooks=dict(non_finite=dict(type='NonFiniteLossHook', **hook)),
                       custom_hooks=[PoisonEpoch(1, value)])


@pytest.mark.parametrize('value, shown', [(float('nan'), 'loss nan'), (float('inf'), 'loss')])
def test_non_finite_loss_stops_before_the_step_and_names_where(tmp_path, value, shown):
    runner = poisoned_runner(tmp_path, value)
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith(f'{shown}')
    assert ('at epoch 2, iteration 4 (batch 1/3 of the epoch). Training stopped before the '
            'backward pass, so the weights were not updated with it; the last checkpoint, '
            f'{tmp_path / "epoch_1.pth"}, holds the last good state') in message
    # Nothing was saved after epoch 1, and the weights are those of epoch_1.pth.
    assert sorted(p for p in os.listdir(tmp_path) if 'pth' in p) == ['epoch_1.pth']
    saved = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))['state_dict']
    now = final_weights(runner)
    assert all(torch.equal(saved[k], now[k]) for k in saved)
    assert all(torch.isfinite(v).all() for v in now.values())


def test_skip_mode_drops_the_batches_and_counts_them(tmp_path):
    runner = poisoned_runner(tmp_path, action='skip', max_skipped=5)
    runner.train()
    assert runner.message_hub.get_info(SKIPPED_KEY) == 3  # every batch of epoch 2
    assert runner.iter == 9
    final = load_checkpoint_file(str(tmp_path / 'epoch_3.pth'))['state_dict']
    assert all(np.isfinite(v.numpy()).all() for v in final.values())


def test_skip_mode_stops_past_max_skipped(tmp_path):
    with pytest.raises(NonFiniteLossError, match=r'loss nan at epoch 2, iteration 6 \(batch '
                       r'3/3 of the epoch\): 3 batches of this run had non-finite losses, more '
                       r'than max_skipped=2'):
        poisoned_runner(tmp_path, action='skip', max_skipped=2).train()


def test_actions_are_checked():
    with pytest.raises(ValueError, match="action must be 'stop' or 'skip', got 'ignore'"):
        NonFiniteLossHook(action='ignore')
