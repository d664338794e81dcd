"""SIGKILL tools/train.py mid-epoch and mid-save, then a preemption signal (SIGUSR1: save,
exit 75), `--resume` after each, and end with the same weights.

One uninterrupted run of 3 epochs is the reference. A second run is killed in the middle of
epoch 2, resumed, killed again while it writes epoch_2.pth, resumed and preempted in the
middle of epoch 3, and resumed to the end. Both are
the tiny demo config (conftest's ``tiny_demo_config``: R(2+1)D on the embedded motion
dataset, random crops drawn in the main process), on CPU with seed 0, and the interrupted
one must end with the reference's weights exactly.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import r21d_plugin  # noqa: F401
from r21d_plugin.engine.checkpoint_loading import load_checkpoint_file

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 240

# Runs tools/train.py, first arranging to freeze (so that the test can SIGKILL it) at the
# point PAUSE_AT names: "iter:<epoch>:<iteration>" after that training iteration,
# "save:<epoch>" halfway through writing epoch_<epoch>.pth; or, with "signal:<epoch>:
# <iteration>", to wait before that iteration until the test's signal has arrived (so the
# iteration runs with the signal pending, as a preempted one does).
LAUNCHER = textwrap.dedent('''
    import os, runpy, sys, time

    pause_at, marker = os.environ.get('PAUSE_AT', ''), os.environ['PAUSE_MARKER']

    def freeze():
        open(marker, 'w').close()
        time.sleep(600)

    if pause_at.startswith(('iter:', 'signal:')):
        from mmengine.runner.loops import EpochBasedTrainLoop
        epoch, iteration = map(int, pause_at.split(':')[1:])
        run_iter = EpochBasedTrainLoop.run_iter

        def run_iter_pausing(self, idx, data_batch):
            here = (self.epoch, idx) == (epoch, iteration)
            if here and pause_at.startswith('signal:'):
                hook = next(h for h in self.runner.hooks
                            if type(h).__name__ == 'PreemptionHook')
                open(marker, 'w').close()
                while hook.received is None:
                    time.sleep(0.01)
            run_iter(self, idx, data_batch)
            if here and pause_at.startswith('iter:'):
                freeze()

        EpochBasedTrainLoop.run_iter = run_iter_pausing
    elif pause_at.startswith('save:'):
        from r21d_plugin.engine import checkpoint
        target, write_all = f'.epoch_{pause_at[5:]}.pth.', checkpoint._write_all

        def write_half_then_freeze(file, data):
            if os.path.basename(file.name).startswith(target):
                file.write(data[:len(data) // 2])
                file.flush()
                os.fsync(file.fileno())
                freeze()
            write_all(file, data)

        checkpoint._write_all = write_half_then_freeze
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name='__main__')
''')


@pytest.fixture
def config(tiny_demo_config):
    return tiny_demo_config(max_epochs=3, base_channels=4)


def start(tmp_path, config, work_dir, pause_at=None, resume=False):
    """Start tools/train.py (through the launcher when ``pause_at`` is given)."""
    launcher = tmp_path / 'launcher.py'
    launcher.write_text(LAUNCHER)
    marker = tmp_path / f'{work_dir.name}.paused'
    marker.unlink(missing_ok=True)
    log = tmp_path / f'{work_dir.name}-{pause_at or "end"}.log'
    command = [sys.executable, str(launcher), str(REPO / 'tools/train.py'), str(config),
               '--work-dir', str(work_dir), *(['--resume'] if resume else []),
               '--cfg-options', 'train_dataloader.dataset.type=RobustVideoDataset']
    env = dict(os.environ, OMP_NUM_THREADS='1', PAUSE_MARKER=str(marker),
               PAUSE_AT=pause_at or '')
    with open(log, 'w') as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    return process, log, marker


def finish(run, killed=False, send=signal.SIGKILL, status=None):
    """Wait for a run to end, or to pause and then send it ``send``. Returns its log text.

    The run must end with ``status``: by default 0, or killed by SIGKILL when ``killed``.
    """
    process, log, marker = run
    deadline = time.monotonic() + TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        if killed and marker.exists():
            process.send_signal(send)
            break
        time.sleep(0.05)
    returncode = process.wait(timeout=TIMEOUT)
    text = log.read_text()
    if status is None:
        status = -signal.SIGKILL if killed else 0
    assert returncode == status, text[-3000:]
    return text


def train(tmp_path, config, work_dir, pause_at=None, resume=False):
    return finish(start(tmp_path, config, work_dir, pause_at, resume), killed=bool(pause_at))


def weights(path):
    return load_checkpoint_file(str(path))['state_dict']


def test_killed_twice_preempted_and_resumed_equals_uninterrupted(tmp_path, config):
    """SIGKILL mid-epoch, SIGKILL halfway through writing a checkpoint, then Slurm's
    `--signal=USR1@120` mid-epoch (the iteration in progress finishes, preempted.pth is saved,
    tools/train.py exits with 75), each followed by `--resume`: the same final weights."""
    from r21d_plugin.engine.preemption import PREEMPTED_EXIT_STATUS

    straight, interrupted = tmp_path / 'straight', tmp_path / 'interrupted'
    reference = start(tmp_path, config, straight)  # alongside the interrupted runs

    # Killed during the 3rd iteration of epoch 2 (runner epoch 1).
    train(tmp_path, config, interrupted, pause_at='iter:1:2')
    assert (interrupted / 'last_checkpoint').read_text() == str(interrupted / 'epoch_1.pth')
    assert not (interrupted / 'epoch_2.pth').exists()

    # Resumed from epoch_1.pth, killed halfway through writing epoch_2.pth.
    log = train(tmp_path, config, interrupted, pause_at='save:2', resume=True)
    assert f'Load checkpoint from {interrupted / "epoch_1.pth"}' in log
    partial = [p for p in os.listdir(interrupted) if p.startswith('.epoch_2.pth.')]
    assert len(partial) == 1 and partial[0].endswith('.partial.pth')
    assert not (interrupted / 'epoch_2.pth').exists()
    assert (interrupted / 'last_checkpoint').read_text() == str(interrupted / 'epoch_1.pth')
    assert load_checkpoint_file(str(interrupted / 'epoch_1.pth'))['meta']['epoch'] == 1

    # Resumed again: the half-written file is cleared, epoch 2 is trained; signalled while
    # about to run the 2nd iteration of epoch 3 (runner epoch 2).
    log = finish(start(tmp_path, config, interrupted, pause_at='signal:2:1', resume=True),
                 killed=True, send=signal.SIGUSR1, status=PREEMPTED_EXIT_STATUS)
    assert f'Removed {interrupted / partial[0]}' in log
    assert 'Epoch(train) [2][1/4]' in log and 'Epoch(train) [3][2/4]' in log
    assert 'Epoch(train) [3][3/4]' not in log
    assert not any('.partial' in p for p in os.listdir(interrupted))
    checkpoint = interrupted / 'preempted.pth'
    assert (f'SIGUSR1 received: saved {checkpoint} after epoch 3 batch 2 (iteration 10); '
            f'continue with --resume. Exiting with status {PREEMPTED_EXIT_STATUS}') in log
    assert (interrupted / 'last_checkpoint').read_text() == str(checkpoint)

    # Resumed from preempted.pth at the next batch, to the end.
    log = train(tmp_path, config, interrupted, resume=True)
    assert f'Load checkpoint from {checkpoint}' in log
    assert ('Resuming epoch 3 interrupted by SIGUSR1 after batch 2/4: its first 2 batches are '
            'skipped without being loaded') in log
    assert 'Epoch(train) [3][3/4]' in log and 'Epoch(train) [3][1/4]' not in log
    assert not checkpoint.exists()

    finish(reference)
    final = load_checkpoint_file(str(interrupted / 'epoch_3.pth'))
    assert (final['meta']['epoch'], final['meta']['iter']) == (3, 12)
    expected, got = weights(straight / 'epoch_3.pth'), final['state_dict']
    assert expected.keys() == got.keys()
    assert [k for k in expected if not torch.equal(expected[k], got[k])] == []
