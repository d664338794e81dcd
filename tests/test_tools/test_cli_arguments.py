"""Every tool's command line: bad numbers refused up front with one message and status 2,
the same ``r21d-<tool>: error:`` prefix, --trust-checkpoint trusting the one file named."""
import os

import pytest
import torch

from r21d_plugin.cli import test as test_tool
from r21d_plugin.engine.checkpoint_loading import TRUST_CHECKPOINTS_ENV


class CreatesAFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_trust_checkpoint_trusts_the_named_checkpoint_only(tiny_demo_config, tmp_path,
                                                           monkeypatch, capsys):
    monkeypatch.setenv(TRUST_CHECKPOINTS_ENV, '')  # restored after the test
    config = str(tiny_demo_config())
    hostile = tmp_path / 'hostile.pth'
    torch.save(dict(state_dict={}, payload=CreatesAFile(tmp_path / 'ran')), hostile)
    assert test_tool.main([config, str(hostile), '--dry-run']) == 2
    assert capsys.readouterr().err.startswith(f'r21d-test: error: {hostile} holds ')
    assert not (tmp_path / 'ran').exists() and os.environ[TRUST_CHECKPOINTS_ENV] == ''
    assert test_tool.main([config, str(hostile), '--dry-run', '--trust-checkpoint']) == 0
    assert (tmp_path / 'ran').exists()
    assert os.environ[TRUST_CHECKPOINTS_ENV] == str(hostile.resolve())
