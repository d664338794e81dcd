"""Checkpoint loading: weights_only with the mmengine allow-list; anything else only on opt-in."""
import pathlib

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

import r21d_plugin  # noqa: F401
from r21d_plugin.compat import TRUST_CHECKPOINTS_ENV, UntrustedCheckpointError
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
    assert 'holds `pathlib.Path`, which is not on the allow-list' in message
    assert f'set {TRUST_CHECKPOINTS_ENV}=1' in message
    assert not (hostile_checkpoint.parent / 'ran').exists()


def test_opting_in_loads_in_full(hostile_checkpoint, monkeypatch):
    monkeypatch.setenv(TRUST_CHECKPOINTS_ENV, '1')
    checkpoint = _load_checkpoint(str(hostile_checkpoint))
    assert checkpoint['state_dict'] == {}
    assert (hostile_checkpoint.parent / 'ran').exists()  # why it takes an opt-in


def test_truncated_and_missing_checkpoints_are_named(real_checkpoint, tmp_path):
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(real_checkpoint.read_bytes()[:2000])
    with pytest.raises(RuntimeError, match=f'{truncated} is not a readable checkpoint'):
        _load_checkpoint(str(truncated))
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        _load_checkpoint(str(tmp_path / 'nowhere.pth'))
