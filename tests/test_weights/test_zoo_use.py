"""Published weights by name where they are used: ``r21d://NAME`` in mmengine's loaders and
runner, several processes at once, ``r21d-list-models``."""
import fcntl
import os
import subprocess
import sys
import time

import torch
from helpers import REPO, run_tool
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.runner import CheckpointLoader, Runner, load_checkpoint

from r21d_plugin.cli import list_models
from r21d_plugin.zoo import get_checkpoint, model_info


def converted_state(name: str) -> dict:
    return torch.load(get_checkpoint(name), weights_only=True)['state_dict']


def test_the_scheme_loads_through_mmengine(zoo):
    name = zoo.names['caffe2']
    loaded = CheckpointLoader.load_checkpoint(f'r21d://{name}', map_location='cpu')
    expected = converted_state(name)
    assert all(torch.equal(loaded['state_dict'][key], value) for key, value in expected.items())
    assert zoo.server.requests == {zoo.paths['caffe2']: 1}

    # A backbone's Pretrained init_cfg, as a fine-tune config writes it.
    cfg = Config.fromfile(model_info(name).config)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=f'r21d://{name}',
                                       prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, expected[f'backbone.{key}']), key
    assert zoo.server.requests == {zoo.paths['caffe2']: 1}  # from the cache


def test_load_from_in_mmengines_runner(zoo, tmp_path):
    name = zoo.names['torchvision']
    cfg = Config.fromfile(model_info(name).config)
    cfg.update(load_from=f'r21d://{name}', work_dir=str(tmp_path / 'work'),
               launcher='none', default_scope='mmaction')
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    for key, value in converted_state(name).items():
        assert torch.equal(runner.model.state_dict()[key], value), key

    # The same through mmengine's load_checkpoint, into a model built without init.
    model = MODELS.build(cfg.model)
    load_checkpoint(model, f'r21d://{name}', map_location='cpu', strict=True, logger='silent')
    assert torch.equal(model.cls_head.fc_cls.weight,
                       runner.model.cls_head.fc_cls.weight)


def _wait_for(path, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.2)


def test_processes_asking_at_once_download_once(zoo, tmp_path):
    name = zoo.names['torchvision']
    info = model_info(name)
    lock = zoo.cache / 'locks' / f'{info.file}.lock'
    lock.parent.mkdir(parents=True)
    code = ('import sys; from r21d_plugin.zoo import get_checkpoint; '
            'print(get_checkpoint(sys.argv[1]))')
    env = {**os.environ, **zoo.env, 'OMP_NUM_THREADS': '1'}
    with open(lock, 'a') as held:
        # Held here until both processes wait for it, so that they do ask at once.
        fcntl.flock(held, fcntl.LOCK_EX)
        logs = [tmp_path / f'{rank}.err' for rank in range(2)]
        processes = [subprocess.Popen([sys.executable, '-c', code, name], env=env, cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=open(log, 'w'), text=True)
                     for log in logs]
        for log in logs:
            _wait_for(log, f'{name}: waiting for another process fetching {info.file}')
        fcntl.flock(held, fcntl.LOCK_UN)
    outputs = [process.communicate(timeout=300)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0]
    assert outputs == [get_checkpoint(name) + '\n'] * 2
    assert zoo.server.requests == {zoo.paths['torchvision']: 1}
    converted = [log.read_text().count('converted') for log in logs]
    assert sorted(converted) == [0, 1]


def test_list_models_shows_what_is_cached(zoo, capsys):
    assert list_models.main([]) == 0
    before = capsys.readouterr().out.splitlines()
    get_checkpoint(zoo.names['caffe2'])
    assert list_models.main(['vmz']) == 0
    after = capsys.readouterr().out.splitlines()

    assert before[0].split() == ['name', 'network', 'frames', 'data', 'top-1', 'cached']
    assert before[1].split() == [zoo.names['torchvision'], 'MC3-18', '16', 'Kinetics-400',
                                 '64.0', 'no']
    assert before[2].split() == [zoo.names['caffe2'], 'MC3-18', '8', 'Kinetics-400', '63.3',
                                 'no']
    assert after[1].split()[-1] == 'yes' and len(after) == 4
    assert after[3].startswith(f'1 models; cache: {zoo.cache} ')


def test_list_models_fetches_for_offline_nodes(zoo, capsys):
    assert list_models.main(['mc3_r18_vmz*', '--fetch']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[0] == zoo.names['caffe2'] and lines[1].split()[-1] == 'yes'
    assert zoo.server.requests == {zoo.paths['caffe2']: 1}


def test_list_models_console_tool(zoo):
    result = run_tool(REPO / 'tools/list_models.py', 'r2plus1d_r34*', env={
        'R21D_METAFILE': ''})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 7 + 2
    assert lines[1].split()[:4] == ['r2plus1d_r34_vmz-ig65m-pretrained_32x1x10_kinetics400-rgb',
                                    'R(2+1)D-34', '32', 'Kinetics-400']
