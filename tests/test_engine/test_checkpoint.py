"""Atomic checkpoint writes, prune-after-save, and resumes that replay the run exactly."""
import errno
import os
import uuid

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

import r21d_plugin  # noqa: F401
from r21d_plugin.engine import checkpoint as ckpt
from r21d_plugin.engine.checkpoint_loading import load_checkpoint_file


def test_atomic_write_replaces_whole_files(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    ckpt.atomic_write(target, b'old')
    ckpt.atomic_write(target, b'new contents')
    assert target.read_bytes() == b'new contents'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_a_write_that_dies_midway_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    ckpt.atomic_write(target, b'previous checkpoint')

    def half_then_die(file, data):
        file.write(data[:len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt, '_write_all', half_then_die)
    with pytest.raises(KeyboardInterrupt):
        ckpt.atomic_write(target, b'x' * 1000)
    assert target.read_bytes() == b'previous checkpoint'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_a_full_disk_while_cleaning_up_does_not_hide_the_first_error(tmp_path, monkeypatch):
    """A writer (the callback form, as torch.save / onnx / cv2 use it) fails, then removing
    its temporary file fails too (ENOSPC on a full disk): the writer's error is raised."""
    target = tmp_path / 'model.onnx'
    seen = []

    def write_then_fail(path):
        seen.append(path)
        with open(path, 'wb') as f:
            f.write(b'half')
        raise RuntimeError('the exporter failed')

    def unlink_on_a_full_disk(path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ckpt.os, 'unlink', unlink_on_a_full_disk)
    with pytest.raises(RuntimeError, match='the exporter failed'):
        ckpt.atomic_write(target, write_then_fail)
    monkeypatch.undo()
    assert not target.exists()
    name = os.path.basename(seen[0])  # beside the target, its extension kept
    assert name.startswith('.model.onnx.') and name.endswith('.partial.onnx')
    assert ckpt.remove_partial_writes(str(tmp_path)) == seen


def test_a_planted_link_is_never_written_through(tmp_path):
    victim = tmp_path / 'bashrc'
    victim.write_text('keep me\n')
    (tmp_path / 'out').mkdir()
    for name in ('.f.npy.partial', 'f.npy.partial', '.f.npy.partial.npy'):
        (tmp_path / 'out' / name).symlink_to(victim)
    with ckpt.AtomicFile(tmp_path / 'out' / 'f.npy') as file:
        file.write(b'data')
    assert (tmp_path / 'out' / 'f.npy').read_bytes() == b'data'
    assert victim.read_text() == 'keep me\n'


def test_atomic_backend_is_registered(tmp_path):
    backend = get_file_backend(str(tmp_path), backend_args=dict(backend=ckpt.ATOMIC_BACKEND))
    assert isinstance(backend, ckpt.AtomicLocalBackend)
    backend.put_text('epoch_2.pth', str(tmp_path / 'last_checkpoint'))
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_2.pth'


def test_default_runtime_selects_the_hooks():
    cfg = Config.fromfile('configs/_base_/default_runtime.py')
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.epoch_seed.type == 'EpochSeedHook'


class NoisyClassifier(BaseModel):
    """Dropout draws from torch's global generator, as a recognizer's head does."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.dropout = nn.Dropout(0.5)

    def forward(self, inputs, labels, mode='tensor'):
        scores = self.fc(self.dropout(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(scores, torch.stack(labels)))
        return scores


class JitteredPoints(torch.utils.data.Dataset):
    """Augmentation draws from NumPy's global generator, as MMAction2's transforms do."""

    def __init__(self):
        self.points = np.random.default_rng(0).normal(size=(12, 4))

    def __len__(self):
        return len(self.points)

    def __getitem__(self, index):
        jitter = np.random.normal(0, 0.1, 4)
        return dict(inputs=torch.tensor(self.points[index] + jitter, dtype=torch.float32),
                    labels=torch.tensor(index % 3))


class Interrupted(Exception):
    pass


class InterruptAt(Hook):
    """Stands in for a kill in the middle of an epoch (the kill itself: test_kill_resume)."""

    def __init__(self, epoch, inner_iter):
        self.epoch, self.inner_iter = epoch, inner_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if (runner.epoch, batch_idx) == (self.epoch, self.inner_iter):
            raise Interrupted


def make_runner(work_dir, max_epochs=3, resume=False, seed_hook=True, max_keep_ckpts=1,
                interrupt_at=None, num_workers=0, persistent_workers=False, extra_hooks=None,
                custom_hooks=(), dataset=None, **runner_args):
    hooks = dict(checkpoint=dict(type='AtomicCheckpointHook', interval=1,
                                 max_keep_ckpts=max_keep_ckpts),
                 logger=dict(type='LoggerHook', interval=100), **(extra_hooks or {}))
    if seed_hook:
        hooks['epoch_seed'] = dict(type='EpochSeedHook')
    custom_hooks = list(custom_hooks) + ([InterruptAt(*interrupt_at)] if interrupt_at else [])
    torch.manual_seed(0)  # the model is built here, before the runner seeds anything
    return Runner(
        model=NoisyClassifier(), work_dir=str(work_dir),
        experiment_name=f'checkpoint_test_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=dataset or JitteredPoints(), batch_size=4,
                              num_workers=num_workers,
                              persistent_workers=persistent_workers,
                              sampler=dict(type='DefaultSampler', shuffle=True)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[2], gamma=0.1),
        default_hooks=hooks, randomness=dict(seed=7), resume=resume,
        custom_hooks=custom_hooks or None,
        default_scope='mmaction', log_level='WARNING', **runner_args)


def final_weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_prunes_only_after_the_new_checkpoint_is_saved(tmp_path, monkeypatch):
    runner = make_runner(tmp_path, max_epochs=3)
    save = runner.save_checkpoint

    def fail_at_epoch_2(out_dir, filename, *args, **kwargs):
        if filename == 'epoch_2.pth':
            raise OSError('disk full')
        return save(out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(runner, 'save_checkpoint', fail_at_epoch_2)
    with pytest.raises(OSError, match='disk full'):
        runner.train()
    # mmengine's own hook deletes epoch_1.pth before writing epoch_2.pth (max_keep_ckpts=1).
    assert (tmp_path / 'epoch_1.pth').is_file()
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_1.pth')
    assert load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))['meta']['epoch'] == 1


def test_keeps_max_keep_ckpts_and_clears_partial_writes(tmp_path):
    stale = tmp_path / '.epoch_9.pth.123.deadbeef.partial'
    stale.write_bytes(b'half a checkpoint')
    make_runner(tmp_path, max_epochs=3, max_keep_ckpts=2).train()
    assert not stale.exists()
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth')) == [
        'epoch_2.pth', 'epoch_3.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_3.pth')


@pytest.mark.parametrize('seed_hook, num_workers, persistent_workers, equal', [
    (True, 0, False, True),
    (False, 0, False, False),
    (True, 2, False, True),
    (True, 2, True, False),
])
def test_resumed_run_ends_with_the_same_weights(tmp_path, seed_hook, num_workers,
                                                persistent_workers, equal):
    """Train 3 epochs; separately stop mid-epoch 2 and resume; compare the final weights.

    mmengine does not save random states. Without EpochSeedHook the resumed epochs draw other
    dropout masks and jitter (so the equality is not vacuous). Workers that are not
    persistent are reseeded by mmengine at every epoch and replay; persistent workers carry
    their random streams across epochs, which a resumed run restarts.
    """
    loader = dict(seed_hook=seed_hook, num_workers=num_workers,
                  persistent_workers=persistent_workers)
    straight = make_runner(tmp_path / 'straight', **loader)
    straight.train()
    with pytest.raises(Interrupted):
        make_runner(tmp_path / 'interrupted', interrupt_at=(1, 1), **loader).train()
    assert (tmp_path / 'interrupted' / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    resumed = make_runner(tmp_path / 'interrupted', resume=True, **loader)
    resumed.train()
    assert resumed.epoch == 3
    expected, got = final_weights(straight), final_weights(resumed)
    assert all(torch.equal(expected[k], got[k]) for k in expected) is equal


def test_a_full_disk_keeps_the_previous_checkpoint_and_says_so(tmp_path, monkeypatch):
    """ENOSPC halfway through writing epoch_2.pth (max_keep_ckpts=1, so epoch_1.pth would be
    the one pruned): the run stops with an error naming both files, epoch_1.pth still loads."""
    from r21d_plugin.engine.checkpoint_loading import load_checkpoint_file

    write_all = ckpt._write_all

    def disk_full_at_epoch_2(file, data):
        if os.path.basename(file.name).startswith('.epoch_2.pth.'):
            file.write(data[:len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write_all(file, data)

    monkeypatch.setattr(ckpt, '_write_all', disk_full_at_epoch_2)
    runner = make_runner(tmp_path, max_epochs=3)
    with pytest.raises(ckpt.CheckpointSaveError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith(f'Could not save checkpoint {tmp_path / "epoch_2.pth"}: No '
                              'space left on device (')
    assert (f'the previous checkpoint {tmp_path / "epoch_1.pth"} is intact and '
            '`last_checkpoint` still names it') in message
    assert info.value.errno == errno.ENOSPC
    assert sorted(p for p in os.listdir(tmp_path) if 'pth' in p) == ['epoch_1.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_1.pth')
    assert load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))['meta']['epoch'] == 1
