"""make_train_config / make_test_config: MMAction2's command-line semantics."""
import pytest
import torch

from r21d_plugin.engine.runs import make_test_config, make_train_config

CONFIG = 'configs/demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py'


def test_train_arguments_map_onto_the_config(tmp_path):
    cfg = make_train_config(CONFIG, work_dir=str(tmp_path), resume='auto', seed=3,
                            no_validate=True, launcher='pytorch',
                            cfg_options={'train_dataloader.num_workers': 0})
    assert cfg.work_dir == str(tmp_path) and cfg.launcher == 'pytorch'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.randomness == dict(seed=3, diff_rank_seed=False, deterministic=False)
    assert cfg.val_cfg is None and cfg.val_dataloader is None and cfg.val_evaluator is None
    # torch refuses persistent workers without workers.
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.test_dataloader.persistent_workers is True
    path = make_train_config(CONFIG, resume='work_dirs/x/epoch_3.pth')
    assert path.resume is True and path.load_from == 'work_dirs/x/epoch_3.pth'
    assert path.work_dir == './work_dirs/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb'


def test_amp_without_gpu_is_refused_clearly(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='--amp needs a GPU'):
        make_train_config(CONFIG, amp=True)


def test_test_arguments_and_refusals(tmp_path):
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')
    cfg = make_test_config(CONFIG, str(checkpoint), dump=str(tmp_path / 'scores.pkl'))
    assert cfg.load_from == str(checkpoint)
    assert cfg.test_evaluator == [dict(type='ClipVideoAccuracy'),
                                  dict(type='DumpResults',
                                       out_file_path=str(tmp_path / 'scores.pkl'))]
    with pytest.raises(ValueError, match='.pkl'):
        make_test_config(CONFIG, str(checkpoint), dump='scores.json')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        make_test_config(CONFIG, str(tmp_path / 'missing.pth'))
