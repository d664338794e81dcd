"""tools/train.py, test.py, the dist_* and slurm_* launch scripts and accuracy_vs_clips.py end
to end on the tiny motion dataset, on CPU processes (gloo); Slurm through an srun stand-in."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from helpers import REPO, free_port, run_tool

from r21d_plugin.cli.accuracy_vs_clips import main as accuracy_vs_clips
from r21d_plugin.engine.checkpoint_loading import load_checkpoint_file
from r21d_plugin.evaluation import load_test_dump

ITERS_PER_EPOCH = 4  # 16 training videos, batch 4


def _run(*command, timeout=240):
    result = run_tool(*command, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def _train(config, work_dir, *extra):
    return _run(sys.executable, 'tools/train.py', config, '--work-dir', work_dir, *extra)


def _test_metrics(log):
    """The metrics of the 'Epoch(test)' summary line."""
    line = [line for line in log.splitlines() if 'Epoch(test)' in line and 'acc/' in line][-1]
    return dict(re.findall(r'(acc/\S+): ([0-9.]+)', line))


def _load(path):
    return load_checkpoint_file(str(path), map_location='cpu')  # weights_only, allow-listed


@pytest.fixture(scope='module')
def config(tiny_demo_config):
    return tiny_demo_config('R(2+1)D', max_epochs=2)


@pytest.fixture(scope='module')
def straight(config, tmp_path_factory):
    """An uninterrupted 2-epoch run."""
    work_dir = tmp_path_factory.mktemp('straight')
    _train(config, work_dir)
    return work_dir


@pytest.fixture(scope='module')
def odd_test_set(tiny_motion_dataset, tmp_path_factory):
    """7 test videos: two processes get 4 each, one of them a repeat (sampler padding)."""
    lines = (tiny_motion_dataset / 'test.txt').read_text().splitlines()[:7]
    path = tmp_path_factory.mktemp('ann') / 'test7.txt'
    path.write_text('\n'.join(lines) + '\n')
    return path


def test_train_saves_safely_loadable_checkpoints(straight):
    checkpoint = _load(straight / 'epoch_2.pth')
    assert checkpoint['meta']['epoch'] == 2
    assert checkpoint['meta']['iter'] == 2 * ITERS_PER_EPOCH
    assert 'optimizer' in checkpoint and 'param_schedulers' in checkpoint


def test_resume_continues_at_the_right_epoch_with_optimizer_and_scheduler(config, straight,
                                                                         tmp_path):
    # A run interrupted after epoch 1 left straight/epoch_1.pth: resume from it.
    log = _train(config, tmp_path, '--resume', straight / 'epoch_1.pth')
    assert f'resumed epoch: 1, iter: {ITERS_PER_EPOCH}' in log
    assert 'Epoch(train) [1]' not in log  # epoch 1 is not trained again
    resumed, reference = _load(tmp_path / 'epoch_2.pth'), _load(straight / 'epoch_2.pth')
    assert resumed['meta']['iter'] == reference['meta']['iter']
    steps = [state['step'] for state in resumed['optimizer']['state'].values()]
    assert steps and all(int(step) == 2 * ITERS_PER_EPOCH for step in steps)  # AdamW's count
    assert resumed['param_schedulers'] == reference['param_schedulers']
    assert resumed['optimizer']['param_groups'][0]['lr'] == \
        reference['optimizer']['param_groups'][0]['lr']


def test_two_process_test_equals_single_process_and_dump_curve(config, straight, odd_test_set,
                                                               tmp_path, capsys):
    checkpoint = straight / 'epoch_2.pth'
    options = ['--cfg-options', f'test_dataloader.dataset.ann_file={odd_test_set}']
    single = _run(sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
                  tmp_path / 'one', '--dump', tmp_path / 'one.pkl', *options)
    double = _run('bash', 'tools/dist_test.sh', config, checkpoint, 2, '--work-dir',
                  tmp_path / 'two', '--dump', tmp_path / 'two.pkl', *options)
    assert 'Distributed launcher: pytorch' in double
    assert _test_metrics(single) == _test_metrics(double)
    assert set(_test_metrics(single)) == {'acc/video@1', 'acc/video@5', 'acc/clip@1',
                                          'acc/mean_class_accuracy'}
    # Real dumps load through the restricted unpickler (tensors in dicts).
    one, two = load_test_dump(str(tmp_path / 'one.pkl')), load_test_dump(str(tmp_path / 'two.pkl'))
    assert len(one) == len(two) == 7  # the padded repeat is not counted
    for a, b in zip(one, two):
        assert a['clip_scores'].shape == (10, 8)
        np.testing.assert_allclose(a['clip_scores'], b['clip_scores'], rtol=1e-5, atol=1e-6)

    plot = tmp_path / 'fig5b.png'  # (in this process: tools/*.py call the same main)
    assert accuracy_vs_clips([tmp_path / 'one.pkl', '--names', 'tiny', '--out', plot]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if re.match(r'\| \d+ \|', line)]
    assert len(rows) == 10 and plot.read_bytes()[:4] == b'\x89PNG'
    video_at_1 = float(_test_metrics(single)['acc/video@1'])
    assert float(rows[-1].split('|')[2]) == pytest.approx(100 * video_at_1, abs=0.06)


def test_dist_train_runs_two_cpu_processes_and_keeps_the_preemption_contract(config, tmp_path):
    """Two gloo processes train; SIGUSR1 to the launcher mid-training: preempted.pth is
    saved and the launcher exits 75 (plain torchrun would die on SIGUSR1, or exit 1)."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHON': sys.executable,
           'PORT': str(free_port())}
    launcher = subprocess.Popen(
        ['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(tmp_path),
         '--cfg-options', 'train_cfg.max_epochs=50'],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (tmp_path / 'epoch_1.pth').exists() and launcher.poll() is None:
            assert time.monotonic() < deadline, 'no epoch_1.pth in time'
            time.sleep(0.2)
        launcher.send_signal(signal.SIGUSR1)
        log, _ = launcher.communicate(timeout=120)
    finally:
        launcher.kill()
    assert launcher.returncode == 75, log[-3000:]
    assert 'Distributed training: True' in log
    # 16 videos over 2 processes of batch 4: 2 iterations per epoch.
    assert _load(tmp_path / 'epoch_1.pth')['meta']['iter'] == 2
    preempted = _load(tmp_path / 'preempted.pth')
    assert preempted['meta']['preempted']['signal'] == 'SIGUSR1'
    assert preempted['meta']['iter'] >= 2
    assert (tmp_path / 'last_checkpoint').read_text().strip() == str(tmp_path / 'preempted.pth')


@pytest.mark.parametrize('script, args, tool', [
    ('slurm_train.sh', ['CONFIG'], 'train.py'),
    ('slurm_test.sh', ['CONFIG', 'CKPT'], 'test.py'),
    ('slurm_extract_features.sh', ['CONFIG', 'CKPT', 'SRC', 'OUT'], 'extract_features.py'),
])
@pytest.mark.parametrize('gpus_per_node, placement', [
    ('4', ['--gres=gpu:4', '--ntasks=8', '--ntasks-per-node=4']),
    ('0', ['--ntasks=8', '--ntasks-per-node=8']),  # CPU tasks: no --gres
])
def test_slurm_scripts_hand_srun_the_tool_and_placement(tmp_path, script, args, tool,
                                                        gpus_per_node, placement):
    """An ``srun`` stand-in on PATH records the command the scripts build."""
    fake_srun = tmp_path / 'srun'
    fake_srun.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$SRUN_ARGS_FILE"\n')
    fake_srun.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", GPUS='8',
               GPUS_PER_NODE=gpus_per_node, SRUN_ARGS='--time=10', PYTHON='py',
               SRUN_ARGS_FILE=str(tmp_path / 'args'))
    subprocess.run(['bash', f'tools/{script}', 'PART', 'JOB', *args, '--amp'], cwd=REPO,
                   env=env, check=True, timeout=30)
    assert (tmp_path / 'args').read_text().splitlines() == [
        '-p', 'PART', '--job-name=JOB', *placement, '--cpus-per-task=5',
        '--kill-on-bad-exit=1', '--time=10', 'py', '-u', str(REPO / 'tools' / tool),
        *args, '--launcher', 'slurm', '--amp']


def test_launch_scripts_refuse_missing_arguments():
    for script in ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh', 'slurm_test.sh',
                   'dist_extract_features.sh', 'slurm_extract_features.sh'):
        result = subprocess.run(['bash', f'tools/{script}', 'CONFIG'], cwd=REPO,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and 'usage:' in result.stderr, script
