"""Every tool's command line: bad numbers refused up front with one message and status 2,
the same ``r21d-<tool>: error:`` prefix, --trust-checkpoint trusting the one file named."""
import importlib
import os
import re

import pytest
import torch
from helpers import REPO, RunsACommand, cli_tools

from r21d_plugin.cli import test as test_tool
from r21d_plugin.cli.errors import tool_name
from r21d_plugin.engine.checkpoint_loading import TRUST_CHECKPOINTS_ENV



def test_trust_checkpoint_trusts_the_named_checkpoint_only(tiny_demo_config, tmp_path,
                                                           monkeypatch, capsys):
    monkeypatch.setenv(TRUST_CHECKPOINTS_ENV, '')  # restored after the test
    config = str(tiny_demo_config())
    hostile = tmp_path / 'hostile.pth'
    torch.save(dict(state_dict={}, payload=RunsACommand(tmp_path / 'ran')), hostile)
    assert test_tool.main([config, str(hostile), '--dry-run']) == 2
    assert capsys.readouterr().err.startswith(f'r21d-test: error: {hostile} holds ')
    assert not (tmp_path / 'ran').exists() and os.environ[TRUST_CHECKPOINTS_ENV] == ''
    assert test_tool.main([config, str(hostile), '--dry-run', '--trust-checkpoint']) == 0
    assert (tmp_path / 'ran').exists()
    assert os.environ[TRUST_CHECKPOINTS_ENV] == str(hostile.resolve())


POSITIVE = "must be a positive integer, got '{}'"
NON_NEGATIVE = "must be 0 or a positive integer, got '{}'"


@pytest.mark.parametrize('tool, argv, flag, value, message', [
    ('infer', ['C', 'K', 'v.mp4'], '--batch-size', '0', POSITIVE),
    ('infer', ['C', 'K', 'v.mp4'], '--batch-size', '-1', POSITIVE),
    ('infer', ['C', 'K', 'v.mp4', '--timeline'], '--clip-len', '0', POSITIVE),
    ('infer', ['C', 'K', 'v.mp4', '--timeline'], '--stride', '0', POSITIVE),
    ('infer', ['C', 'K', 'v.mp4'], '--topk', '0', POSITIVE),
    ('extract_features', ['C', 'K', 'SRC', 'OUT'], '--batch-size', '0', POSITIVE),
    ('extract_features', ['C', 'K', 'SRC', 'OUT'], '--clip-len', '-8', POSITIVE),
    ('extract_features', ['C', 'K', 'SRC', 'OUT'], '--stride', '0', POSITIVE),
    ('extract_features', ['C', 'K', 'SRC', 'OUT'], '--workers', '-1', NON_NEGATIVE),
    ('export', ['C', '--out', 'x.onnx'], '--batch-size', '0', POSITIVE),
    ('export', ['C', '--out', 'x.onnx'], '--clip-len', '-16', POSITIVE),
    ('benchmark', [], '--batch-size', '0', POSITIVE),
    ('benchmark', [], '--clip-len', '-1', POSITIVE),
    ('benchmark', [], '--workers', '-1', NON_NEGATIVE),
    ('check_dataset', ['ANN', 'ROOT'], '--workers', '0', POSITIVE),
    ('extract_flow', ['SRC', 'OUT'], '--workers', '-1', POSITIVE),
    ('accuracy_vs_clips', ['d.pkl'], '--num-clips', '0', POSITIVE),
    ('model_complexity', [], '--crop-size', '0', POSITIVE),
    ('generate_motion_dataset', [], '--num-frames', '0', POSITIVE),
    ('infer', ['C', 'K', 'v.mp4'], '--batch-size', 'many', "expected an integer, got '{}'"),
    ('infer', ['C', 'K', 'v.mp4'], '--decode-timeout', '-1',
     "must be 0 or a positive number, got '{}'"),
    ('check_dataset', ['ANN', 'ROOT'], '--decode-timeout', 'nan',
     "must be 0 or a positive number, got '{}'"),
])
def test_bad_numbers_are_refused_up_front_with_one_message(tool, argv, flag, value, message,
                                                           capsys):
    main = importlib.import_module(f'r21d_plugin.cli.{tool}').main
    with pytest.raises(SystemExit) as exit_:
        main([*argv, flag, value])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    command = 'r21d-' + tool.replace('_', '-')
    assert error == f'{command}: error: argument {flag}: {message.format(value)}'


def test_train_takes_amp_fp16_or_bf16_and_a_bare_amp_means_fp16(capsys):
    from r21d_plugin.cli.train import parse_args
    assert parse_args(['C', '--amp']).amp == 'fp16'
    assert parse_args(['C', '--amp', 'bf16']).amp == 'bf16'
    assert parse_args(['C']).amp is None
    with pytest.raises(SystemExit):
        parse_args(['C', '--amp', 'fp32'])
    assert "argument --amp: invalid choice: 'fp32'" in capsys.readouterr().err


def test_docs_tools_lists_every_console_script():
    setup = (REPO / 'setup.py').read_text()
    scripts = re.findall(r"'(r21d-[a-z0-9-]+) = r21d_plugin\.cli\.(\w+):main'", setup)
    assert sorted(module for _, module in scripts) == cli_tools()
    listed = (REPO / 'docs' / 'tools.md').read_text()
    for script, module in scripts:
        assert f'| `{script}` |' in listed, script
        assert script == tool_name(f'r21d_plugin.cli.{module}')  # cli_main's error prefix
