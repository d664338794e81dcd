"""check_run_inputs: a run's missing data and checkpoints found before it starts, each named
with the dataset it belongs to and what prepares it (or what was expected)."""
import pytest
import torch
from helpers import sports1m_not_prepared
from mmengine.config import Config

from r21d_plugin.engine.checkpoint_loading import UnreadableCheckpointError
from r21d_plugin.engine.preflight import (CheckpointNotFoundError, DatasetNotPreparedError,
                                          check_run_inputs, run_checkpoints)
from r21d_plugin.engine.runs import make_test_config, make_train_config, run_test, run_train

FINETUNE = 'r2plus1d_kinetics400-pretrained-r34_8xb4-32x1x1-8e_ucf101-split1-flow'
PRETRAINING = 'r2plus1d_r34_8xb32-32x1x1-45e_kinetics400-flow'


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('')
    return path


def test_a_missing_annotation_file_names_its_dataset_and_how_to_prepare_it(in_tmp):
    cfg = make_train_config('r2plus1d34_sports1m')
    with pytest.raises(DatasetNotPreparedError) as error:
        run_train(cfg)  # before any runner or process group
    assert str(error.value) == sports1m_not_prepared(in_tmp)


def test_then_the_video_folder_and_the_validation_data_are_checked(in_tmp):
    touch(in_tmp / 'data/sports1m/sports1m_train_list_videos.txt')
    cfg = make_train_config('r2plus1d34_sports1m')
    with pytest.raises(DatasetNotPreparedError, match=r'^Sports-1M is not prepared: '
                       r'data/sports1m/videos, the video folder \(data_prefix.video\) of '
                       'train_dataloader, does not exist'):
        check_run_inputs(cfg, 'train')
    (in_tmp / 'data/sports1m/videos').mkdir()
    with pytest.raises(DatasetNotPreparedError, match='sports1m_test_list_videos.txt, the '
                       'annotation file of val_dataloader'):
        check_run_inputs(cfg, 'train')
    check_run_inputs(make_train_config('r2plus1d34_sports1m', no_validate=True), 'train')


def test_data_outside_the_datasets_folder_gets_the_generic_message(in_tmp):
    cfg = make_test_config(
        'r2plus1d34_sports1m', str(touch(in_tmp / 'model.pth')),
        cfg_options={'test_dataloader.dataset.ann_file': '/elsewhere/test.txt'})
    with pytest.raises(DatasetNotPreparedError) as error:
        run_test(cfg)
    assert str(error.value) == (
        '/elsewhere/test.txt, the annotation file of test_dataloader, does not exist.\n'
        'Prepare the dataset this config reads, or point the config at it (--cfg-options '
        'test_dataloader.dataset.ann_file=... ).')


def test_dataset_wrappers_and_data_root_are_followed():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=2,
        dataset=dict(type='VideoDataset', data_root='/nowhere', ann_file='train.txt')))))
    with pytest.raises(DatasetNotPreparedError, match='^/nowhere/train.txt, the annotation'):
        check_run_inputs(cfg, 'train')


def test_checkpoints_are_named_by_role(in_tmp):
    touch(in_tmp / 'data/ucf101/ucf101_train_split_1_videos.txt')
    touch(in_tmp / 'data/ucf101/ucf101_val_split_1_videos.txt')
    (in_tmp / 'data/ucf101/videos').mkdir()
    pretrained = f'work_dirs/{PRETRAINING}/epoch_45.pth'
    cfg = make_train_config(FINETUNE)
    assert run_checkpoints(cfg, 'train') == [(pretrained, 'load_from')]
    with pytest.raises(CheckpointNotFoundError) as error:
        run_train(cfg)
    assert str(error.value) == (
        f'checkpoint not found: {pretrained} (relative to {in_tmp}), load_from, the weights '
        'this run starts from. Expected a .pth file a training run saved, or published '
        f'weights converted with r21d-convert-weights. It is what the config {PRETRAINING} '
        f'saves: train it first (r21d-train {PRETRAINING}).')
    resumed = make_train_config(FINETUNE, resume='work_dirs/mine/epoch_3.pth')
    assert run_checkpoints(resumed, 'train') == [('work_dirs/mine/epoch_3.pth', 'resume')]
    with pytest.raises(CheckpointNotFoundError, match=r'the checkpoint to resume from '
                       r'\(--resume\)\. Expected a checkpoint an earlier run'):
        check_run_inputs(resumed, 'train')
    assert run_checkpoints(make_train_config(FINETUNE, resume='auto'), 'train') == []
    with pytest.raises(CheckpointNotFoundError, match=r'^checkpoint not found: missing.pth '
                       r'\(relative to .*\), the checkpoint to test\. Expected a .pth file'):
        make_test_config(FINETUNE, 'missing.pth')


def test_model_checkpoints_init_cfg_only_when_training():
    model = dict(type='TwoStreamRecognizer', rgb_checkpoint='rgb.pth', flow_checkpoint=None,
                 rgb=dict(backbone=dict(init_cfg=dict(type='Pretrained',
                                                      checkpoint='backbone.pth'))),
                 flow=dict(backbone=dict(init_cfg=dict(type='Pretrained',
                                                       checkpoint='torchvision://x'))))
    cfg = Config(dict(model=model, load_from=None))
    assert run_checkpoints(cfg, 'train') == [('rgb.pth', 'rgb_checkpoint'),
                                             ('backbone.pth', 'init_cfg')]
    assert run_checkpoints(cfg, 'test') == [('rgb.pth', 'rgb_checkpoint')]


def test_reading_checkpoints_finds_a_corrupt_one(tmp_path):
    good, bad = tmp_path / 'good.pth', tmp_path / 'bad.pth'
    torch.save(dict(state_dict={'w': torch.ones(1)}), good)
    bad.write_bytes(good.read_bytes()[:100])
    cfg = Config(dict(model=dict(rgb_checkpoint=str(good), flow_checkpoint=str(bad))))
    check_run_inputs(cfg, 'test')  # both exist
    with pytest.raises(UnreadableCheckpointError, match=f'^{bad} is not a readable '
                       r'checkpoint \(truncated or corrupt\?\): .*\. Expected a file '
                       'written by torch.save'):
        check_run_inputs(cfg, 'test', read_checkpoints=True)
