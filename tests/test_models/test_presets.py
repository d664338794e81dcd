"""The paper's networks as plain registered classes, and their paper names."""
import inspect

import pytest
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from r21d_plugin.models import PAPER_NAMES, PAPER_PRESETS, SpatioTemporalResNet, presets

init_default_scope('mmaction')

FIXED = {'R2DResNet': ('r2d', '2d', '2d', '2d', '2d'), 'FR2DResNet': ('2d', ) * 5,
         'R3DResNet': ('3d', ) * 5, 'ResNet2Plus1dHomog': ('2plus1d', ) * 5}


@pytest.mark.parametrize('name', sorted(FIXED))
def test_fixed_presets_are_plain_classes_with_their_conv_kinds(name):
    cls = MODELS.get(name)
    assert f'class {name}(SpatioTemporalResNet):' in inspect.getsource(presets)
    assert cls.fixed_group_convs == FIXED[name]
    # No constructor of their own: the builder's documented arguments, not **kwargs.
    assert cls.__init__ is SpatioTemporalResNet.__init__
    backbone = MODELS.build(dict(type=name, depth=10, base_channels=4, clip_len=4))
    assert backbone.group_convs == FIXED[name]


def test_every_registered_name_stays():
    for name in ('SpatioTemporalResNet', 'ResNet2Plus1dHomog', 'MixedConvResNet',
                 'ReversedMixedConvResNet', 'R3DResNet', 'FR2DResNet', 'R2DResNet'):
        assert MODELS.get(name).__module__.startswith('r21d_plugin.models.')


def test_paper_names_are_table2_rows_in_order():
    assert PAPER_NAMES == ('R2D', 'f-R2D', 'R3D', 'MC2', 'MC3', 'MC4', 'MC5', 'rMC2',
                           'rMC3', 'rMC4', 'rMC5', 'R(2+1)D')
    assert PAPER_PRESETS['rMC4'] == dict(type='ReversedMixedConvResNet', switch_group=4)
    assert PAPER_PRESETS['R(2+1)D'] == dict(type='ResNet2Plus1dHomog')


def test_a_preset_accepts_its_own_conv_kinds_and_refuses_others():
    same = MODELS.build(dict(type='R3DResNet', depth=10, base_channels=4,
                             group_convs=['3d'] * 5))
    assert same.group_convs == ('3d', ) * 5
    with pytest.raises(TypeError, match=r"R3DResNet fixes group_convs=\('3d',"):
        MODELS.build(dict(type='R3DResNet', depth=10, group_convs=('2d', ) * 5))


def test_the_builder_defaults_to_r2plus1d():
    backbone = MODELS.build(dict(type='SpatioTemporalResNet', depth=10, base_channels=4))
    assert backbone.group_convs == ('2plus1d', ) * 5


def test_conv_kinds_take_keyword_arguments_only():
    from r21d_plugin.models import CONV_KINDS
    for kind in CONV_KINDS.values():
        with pytest.raises(TypeError, match='positional argument'):
            kind(4, 8, 3, 3)
