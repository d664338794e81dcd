"""Pipelines with other clips, as the configs derive them from their bases."""
import pytest

from r21d_plugin.data.pipelines import with_clip_len, with_num_clips, with_three_crop
from r21d_plugin.data.pipelines import flow_pipeline

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
