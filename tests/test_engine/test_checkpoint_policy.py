"""Checkpoint loading: weights_only with the mmengine allow-list; anything else only on opt-in."""
import pathlib
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

import r21d_plugin  # noqa: F401
from r21d_plugin.engine.checkpoint_loading import (TRUST_CHECKPOINTS_ENV,
                                                   UntrustedCheckpointError,
                                                   load_checkpoint_file, trust_checkpoint,
                                                   mmengine_checkpoint_safe_globals,
                                                   mmengine_safe_globals)
from test_checkpoint import NoisyClassifier, make_runner


@pytest.fixture(scope='module')
def real_checkpoint(tmp_path_factory):
    """A checkpoint written by a real mmengine run: message hub, optimizer, scheduler."""
    work_dir = tmp_path_factory.mktemp('run')
    make_runner(work_dir, max_epochs=1).train()
    return work_dir / 'epoch_1.pth'


def test_mmengine_checkpoints_load_safely(real_checkpoint):
    model = NoisyClassifier()
    checkpoint = load_checkpoint(model, str(real_checkpoint))
    assert torch.equal(model.fc.weight, checkpoint['state_dict']['fc.weight'])
    assert {'message_hub', 'optimizer', 'param_schedulers', 'meta'} <= set(checkpoint)


def test_loads_in_a_process_that_never_made_a_history_buffer(real_checkpoint, monkeypatch):
    """HistoryBuffer registers min/max/mean/current in its first __init__ only."""
    from mmengine.logging.history_buffer import HistoryBuffer
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods', {})
    assert _load_checkpoint(str(real_checkpoint))['meta']['epoch'] == 1


class CreatesAFile:
    """What a hostile checkpoint does: run code at load time (here, create a file)."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker, )


@pytest.fixture
def hostile_checkpoint(tmp_path):
    path = tmp_path / 'hostile.pth'
    torch.save(dict(state_dict={}, payload=CreatesAFile(tmp_path / 'ran')), path)
    return path


def test_other_objects_are_refused_with_a_clear_message(hostile_checkpoint, monkeypatch):
    monkeypatch.delenv(TRUST_CHECKPOINTS_ENV, raising=False)
    with pytest.raises(UntrustedCheckpointError) as info:
        _load_checkpoint(str(hostile_checkpoint))  # the loader behind load_from and resume
    message = str(info.value)
    assert str(hostile_checkpoint) in message
    path_class = f'{pathlib.Path.__module__}.Path'  # pathlib._local.Path from Python 3.13 on
    assert f'holds `{path_class}`, which is not on the allow-list' in message
    assert ('pass --trust-checkpoint to the tool that names it, or set '
            f'{TRUST_CHECKPOINTS_ENV}={hostile_checkpoint} to load this one file') in message
    assert not (hostile_checkpoint.parent / 'ran').exists()


def test_trusting_one_file_loads_that_file_in_full_and_no_other(hostile_checkpoint, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv(TRUST_CHECKPOINTS_ENV, '')  # restored after the test
    other = tmp_path / 'other' / 'hostile.pth'
    other.parent.mkdir()
    torch.save(dict(payload=CreatesAFile(tmp_path / 'other_ran')), other)
    trust_checkpoint(str(hostile_checkpoint))
    checkpoint = _load_checkpoint(str(hostile_checkpoint))
    assert checkpoint['state_dict'] == {}
    assert (hostile_checkpoint.parent / 'ran').exists()  # why it takes an opt-in
    with pytest.raises(UntrustedCheckpointError):  # the old R21D_TRUST_CHECKPOINTS=1 loaded it
        _load_checkpoint(str(other))
    assert not (tmp_path / 'other_ran').exists()


def test_the_old_blanket_opt_in_trusts_no_file(hostile_checkpoint, monkeypatch):
    monkeypatch.setenv(TRUST_CHECKPOINTS_ENV, '1')
    with pytest.raises(UntrustedCheckpointError):
        _load_checkpoint(str(hostile_checkpoint))
    assert not (hostile_checkpoint.parent / 'ran').exists()


def test_truncated_and_missing_checkpoints_are_named(real_checkpoint, tmp_path):
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(real_checkpoint.read_bytes()[:2000])
    with pytest.raises(RuntimeError, match=f'{truncated} is not a readable checkpoint'):
        _load_checkpoint(str(truncated))
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        _load_checkpoint(str(tmp_path / 'nowhere.pth'))


def test_mmengine_message_hub_loads_under_weights_only(tmp_path):
    hub = MessageHub.get_instance('checkpoint_policy_test')
    for step in range(3):
        hub.update_scalar('train/loss', np.float64(1.0 / (step + 1)))
        hub.update_scalar('train/lr', 0.01)
    hub.update_info('iter', 3)
    path = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict={'w': torch.ones(2)}, message_hub=hub.state_dict(),
                    meta=dict(seed=np.int64(0), epoch=1)), path)
    loaded = load_checkpoint_file(str(path))
    restored = MessageHub.get_instance('checkpoint_policy_restored')
    restored.load_state_dict(loaded['message_hub'])
    assert restored.get_scalar('train/loss').data[0].tolist() == [1.0, 0.5, 1.0 / 3]
    assert loaded['meta']['seed'] == 0


def test_the_allow_list_holds_inside_the_load_only(real_checkpoint):
    original = list(torch.serialization.get_safe_globals())  # torch 2.4 returns its own list
    torch.serialization.add_safe_globals([np.ndarray])  # a user's own entry, made before
    try:
        before = set(torch.serialization.get_safe_globals())
        with mmengine_safe_globals():
            inside = set(torch.serialization.get_safe_globals())
        assert set(mmengine_checkpoint_safe_globals()) <= inside
        assert load_checkpoint_file(str(real_checkpoint))['meta']['epoch'] == 1
        assert set(torch.serialization.get_safe_globals()) == before  # np.ndarray kept
        with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
            torch.load(real_checkpoint, weights_only=True)  # torch's own rule, outside
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(original)


class CallsPrint:

    def __reduce__(self):
        return (print, ('this would run at load time', ))


def test_anything_else_is_still_refused_inside(tmp_path):
    path = tmp_path / 'hostile.pth'
    torch.save({'payload': CallsPrint()}, path)
    with mmengine_safe_globals(), pytest.raises(pickle.UnpicklingError, match='print'):
        torch.load(path, weights_only=True)


class ReachesForAttributes:

    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


def test_getattr_resolves_history_buffer_statistics_only(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_CHECKPOINTS_ENV, raising=False)
    path = tmp_path / 'getattr.pth'
    torch.save({'payload': ReachesForAttributes()}, path)
    with pytest.raises(UntrustedCheckpointError, match='only HistoryBuffer statistics'):
        load_checkpoint_file(str(path))
