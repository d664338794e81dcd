"""Pipelines with other clips, as the configs derive them from their bases."""
import pytest
from mmengine.config import Config

import r21d_plugin  # noqa: F401  (dataset bases import the plugin's helpers)
from r21d_plugin.data.pipelines import (data_settings, flow_pipeline, with_clip_len,
                                        with_num_clips, with_three_crop)

RGB = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]


def test_with_clip_len_changes_only_the_sampler():
    out = with_clip_len(RGB, 32)
    assert out[1] == dict(RGB[1], clip_len=32)
    assert out[:1] + out[2:] == RGB[:1] + RGB[2:]
    assert RGB[1]['clip_len'] == 8  # the base is not modified


def test_with_clip_len_counts_flow_frames():
    # On-the-fly flow draws L+1 frames for L flow frames, before and after the change.
    flow = flow_pipeline(RGB)
    assert flow[1]['clip_len'] == 9
    assert with_clip_len(flow, 32)[1]['clip_len'] == 33


def test_with_num_clips():
    out = with_num_clips(RGB, 100)
    assert out[1] == dict(RGB[1], num_clips=100)


@pytest.mark.parametrize('pipeline', [RGB[:1], RGB + [RGB[1]]])
def test_needs_exactly_one_sampler(pipeline):
    with pytest.raises(ValueError, match='one SampleFrames'):
        with_clip_len(pipeline, 16)


@pytest.mark.parametrize('bad', [0, -1, 2.0, True])
def test_bad_values(bad):
    with pytest.raises(ValueError, match='clip_len'):
        with_clip_len(RGB, bad)
    with pytest.raises(ValueError, match='num_clips'):
        with_num_clips(RGB, bad)


def test_with_three_crop():
    out = with_three_crop(RGB, 128)
    assert out[3] == dict(type='ThreeCrop', crop_size=128)
    assert out[5] == dict(type='PackActionInputs',
                          meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp',
                                     'num_clips'))
    assert out[:3] + out[4:5] == RGB[:3] + RGB[4:5]
    again = with_three_crop(out[:3] + [RGB[3]] + out[4:], 128)
    assert again[5] == out[5]  # num_clips is not added twice
    with pytest.raises(ValueError, match='one CenterCrop'):
        with_three_crop(out, 128)


def _base_with(ann_files: dict) -> dict:
    """A dataset base: the RGB pipeline for every subset, reading ``ann_files[subset]``."""
    base = {}
    for subset, ann_file in ann_files.items():
        base[f'{subset}_pipeline'] = RGB
        base[f'{subset}_dataloader'] = dict(batch_size=2, dataset=dict(ann_file=ann_file,
                                                                       pipeline=RGB))
    return base


def test_data_settings_derive_clips_flow_and_split_from_one_base():
    base = Config.fromfile('configs/_base_/datasets/ucf101_rgb.py')
    before = base.to_dict()
    settings = data_settings(base, clip_len=16, flow=True, split=3)
    pipelines, loaders = settings[:3], settings[3:]
    for subset, pipeline, loader in zip(('train', 'val', 'test'), pipelines, loaders):
        assert pipeline == with_clip_len(flow_pipeline(base[f'{subset}_pipeline']), 16)
        assert next(s for s in pipeline if s['type'] == 'SampleFrames')['clip_len'] == 17
        ann_file = 'train_split_3' if subset == 'train' else 'val_split_3'
        assert loader == dict(dataset=dict(
            pipeline=pipeline, ann_file=f'data/ucf101/ucf101_{ann_file}_videos.txt'))
    assert base.to_dict() == before  # the base is read, not modified


def test_data_settings_change_only_what_is_asked():
    base = _base_with(dict(train='a_split_1_train.txt', val='a_split_1_val.txt',
                           test='a_split_1_val.txt'))
    assert data_settings(base) == (RGB, RGB, RGB) + (dict(dataset=dict(pipeline=RGB)), ) * 3
    _, _, test, _, _, test_loader = data_settings(base, split=2)
    assert test == RGB and test_loader == dict(dataset=dict(pipeline=RGB,
                                                            ann_file='a_split_2_val.txt'))
    train, *_ = data_settings(base, flow=True)
    assert train == flow_pipeline(RGB)


def test_data_settings_refuse_a_split_the_annotation_names_do_not_carry():
    base = _base_with(dict(train='k400_split_1_train.txt', val='k400_val.txt',
                           test='k400_val.txt'))
    with pytest.raises(ValueError, match=r'^k400_val.txt: expected one "_split_<k>_" in the '
                                         r'annotation file name .* to change it to split 2$'):
        data_settings(base, split=2)
    for bad in (0, True, '2'):
        with pytest.raises(ValueError, match='split must be a positive integer'):
            data_settings(base, split=bad)


def test_data_settings_refuse_flow_on_a_flow_base():
    flow = {key: (flow_pipeline(value) if key.endswith('pipeline') else value)
            for key, value in _base_with(dict(train='t', val='v', test='v')).items()}
    with pytest.raises(ValueError, match='already computes flow'):
        data_settings(flow, flow=True)
