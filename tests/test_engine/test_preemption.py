"""PreemptionHook in process: signal, save, exit 75, resume mid-epoch to the same weights.

The same through a real tools/train.py process: test_kill_resume.py.
"""
import os
import signal

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.registry import METRICS

import r21d_plugin  # noqa: F401
from r21d_plugin.engine.checkpoint_loading import load_checkpoint_file
from r21d_plugin.engine.preemption import PREEMPTED_EXIT_STATUS, PreemptionHook
from test_checkpoint import JitteredPoints, final_weights, make_runner

PREEMPTION = dict(preemption=dict(type='PreemptionHook'))


class SignalAt(Hook):
    """Sends this process ``signum`` before the given iteration's train step."""

    def __init__(self, signum, epoch, batch_idx):
        self.signum, self.epoch, self.batch_idx = signum, epoch, batch_idx

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if (runner.epoch, batch_idx) == (self.epoch, self.batch_idx):
            os.kill(os.getpid(), self.signum)


def preempted_run(work_dir, signum, epoch, batch_idx, **loader):
    runner = make_runner(work_dir, extra_hooks=PREEMPTION,
                         custom_hooks=[SignalAt(signum, epoch, batch_idx)], **loader)
    with pytest.raises(SystemExit) as info:
        runner.train()
    assert info.value.code == PREEMPTED_EXIT_STATUS
    return runner


@pytest.mark.parametrize('signum, epoch, batch_idx', [
    (signal.SIGUSR1, 1, 0),  # mid-epoch (JitteredPoints: 3 batches per epoch)
    (signal.SIGTERM, 1, 2),  # the last batch of an epoch
])
def test_preempted_and_resumed_equals_uninterrupted(tmp_path, signum, epoch, batch_idx):
    straight = make_runner(tmp_path / 'straight', extra_hooks=PREEMPTION)
    straight.train()

    work_dir = tmp_path / 'preempted'
    preempted_run(work_dir, signum, epoch, batch_idx)
    saved = load_checkpoint_file(str(work_dir / 'preempted.pth'))
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'preempted.pth')
    assert (saved['meta']['epoch'], saved['meta']['iter']) == (epoch, 3 * epoch + batch_idx + 1)
    assert saved['meta']['preempted']['signal'] == signal.Signals(signum).name
    assert saved['meta']['preempted']['batches_done'] == batch_idx + 1
    assert len(saved['meta']['preempted']['random_states']) == 1  # one per rank
    assert {'optimizer', 'param_schedulers', 'message_hub'} <= set(saved)

    resumed = make_runner(work_dir, resume=True, extra_hooks=PREEMPTION)
    resumed.train()
    assert (resumed.epoch, resumed.iter) == (3, 9)
    expected, got = final_weights(straight), final_weights(resumed)
    assert [k for k in expected if not torch.equal(expected[k], got[k])] == []
    assert not (work_dir / 'preempted.pth').exists()  # superseded by epoch_3.pth


def test_handlers_are_restored_after_training(tmp_path):
    before = signal.getsignal(signal.SIGUSR1)
    make_runner(tmp_path, max_epochs=1, extra_hooks=PREEMPTION).train()
    assert signal.getsignal(signal.SIGUSR1) is before


def test_preempted_twice_in_one_epoch(tmp_path):
    """A resumed epoch preempted again saves its true position (batch offsets add up)."""
    straight = make_runner(tmp_path / 'straight', extra_hooks=PREEMPTION)
    straight.train()
    work_dir = tmp_path / 'preempted'
    preempted_run(work_dir, signal.SIGUSR1, 1, 0)
    runner = make_runner(work_dir, resume=True, extra_hooks=PREEMPTION,
                         custom_hooks=[SignalAt(signal.SIGUSR1, 1, 1)])
    with pytest.raises(SystemExit):
        runner.train()
    saved = load_checkpoint_file(str(work_dir / 'preempted.pth'))
    assert saved['meta']['preempted']['batches_done'] == 2
    resumed = make_runner(work_dir, resume=True, extra_hooks=PREEMPTION)
    resumed.train()
    expected, got = final_weights(straight), final_weights(resumed)
    assert all(torch.equal(expected[k], got[k]) for k in expected)


@METRICS.register_module(name='PreemptionTestCount', force=True)
class CountMetric(BaseMetric):
    """Counts validation samples (validation needs a metric)."""

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        return dict(count=sum(results))


class SignalInValidation(Hook):
    def __init__(self, signum, epoch):
        self.signum, self.epoch = signum, epoch

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        if runner.epoch == self.epoch and batch_idx == 1:
            os.kill(os.getpid(), self.signum)


VALIDATION = dict(val_dataloader=dict(dataset=JitteredPoints(), batch_size=4,
                                      sampler=dict(type='DefaultSampler', shuffle=False)),
                  val_cfg=dict(), val_evaluator=dict(type='PreemptionTestCount'))


def test_preempted_during_validation(tmp_path):
    """Validation after epoch 1 is cut short; the run resumes at epoch 2's first batch."""
    straight = make_runner(tmp_path / 'straight', extra_hooks=PREEMPTION, **VALIDATION)
    straight.train()
    work_dir = tmp_path / 'preempted'
    runner = make_runner(work_dir, extra_hooks=PREEMPTION,
                         custom_hooks=[SignalInValidation(signal.SIGUSR1, 1)], **VALIDATION)
    with pytest.raises(SystemExit):
        runner.train()
    saved = load_checkpoint_file(str(work_dir / 'preempted.pth'))['meta']
    assert (saved['epoch'], saved['iter'], saved['preempted']['batches_done']) == (1, 3, 0)
    resumed = make_runner(work_dir, resume=True, extra_hooks=PREEMPTION, **VALIDATION)
    resumed.train()
    expected, got = final_weights(straight), final_weights(resumed)
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_unknown_signal_names_are_refused():
    with pytest.raises(ValueError, match=r"unknown signal\(s\) \['SIGNOPE'\]"):
        PreemptionHook(signals=('SIGTERM', 'SIGNOPE'))
