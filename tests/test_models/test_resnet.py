"""The one builder: the paper's twelve networks, their sizes, and MMAction2 conventions."""
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.testing import check_norm_state
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from r21d_plugin import PAPER_NAMES, paper_backbone
from r21d_plugin.models import (BasicBlock3d, Conv2Plus1d, SpatioTemporalResNet,
                                factorized_mid_channels)

init_default_scope('mmaction')

FC_400 = 512 * 400 + 400

# Paper Table 2 (18 layers, fc 400), in millions, printed to 0.1M.
TABLE2_PARAMS_M = {
    'R2D': 11.4, 'f-R2D': 11.4, 'R3D': 33.4, 'MC2': 11.4, 'MC3': 11.7, 'MC4': 12.7,
    'MC5': 16.9, 'rMC2': 33.3, 'rMC3': 33.0, 'rMC4': 32.0, 'rMC5': 27.9, 'R(2+1)D': 33.3
}

# conv5 output T for each family (reference.md section 1), for L = 8 and 16.
CONV5_T = {
    'R2D': (1, 1), 'f-R2D': (8, 16), 'R3D': (1, 2), 'MC2': (8, 16), 'MC3': (8, 16),
    'MC4': (4, 8), 'MC5': (2, 4), 'rMC2': (1, 2), 'rMC3': (1, 2), 'rMC4': (2, 4),
    'rMC5': (4, 8), 'R(2+1)D': (1, 2)
}


def build(name: str, **kwargs) -> SpatioTemporalResNet:
    return MODELS.build(paper_backbone(name, **kwargs))


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('name', PAPER_NAMES)
def test_parameter_counts_match_table2(name):
    params = num_params(build(name, clip_len=8)) + FC_400
    assert abs(params / 1e6 - TABLE2_PARAMS_M[name]) < 0.1, params


def test_parameter_counts_equal_torchvision_exactly():
    # torchvision's r3d_18 and mc3_18 with a 400-class fc.
    assert num_params(build('R3D')) + FC_400 == 33_371_472
    assert num_params(build('MC3')) + FC_400 == 11_695_440


def test_r2plus1d_34_parameter_count():
    # VMZ's rules (per-conv mid channels, 45-channel stem), fc 400: about 63.7M.
    assert num_params(build('R(2+1)D', depth=34)) + FC_400 == 63_697_175


@pytest.mark.parametrize('clip_len', [8, 16])
@pytest.mark.parametrize('name', PAPER_NAMES)
def test_conv5_output_sizes(name, clip_len):
    # Spatial size is independent of depth and width: use a narrow net, full 112 x 112.
    model = build(name, clip_len=clip_len, depth=10, base_channels=8).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, clip_len, 112, 112))
    expected_t = CONV5_T[name][0 if clip_len == 8 else 1]
    assert out.shape == (1, 64, expected_t, 7, 7)


def test_mid_channels_follow_the_formula_for_every_conv():
    model = build('R(2+1)D')
    assert factorized_mid_channels(64, 128) == 230
    assert factorized_mid_channels(128, 128) == 288
    # conv2 of a stage's first block uses (N_i, N_i), not the block's (N_{i-1}, N_i).
    for layer, (n_in, n_out) in zip(
            (model.layer2, model.layer3, model.layer4), ((64, 128), (128, 256),
                                                        (256, 512))):
        assert layer[0].conv1.conv.mid_channels == factorized_mid_channels(n_in, n_out)
        assert layer[0].conv2.conv.mid_channels == factorized_mid_channels(n_out, n_out)
    assert model.conv1.conv.mid_channels == 45


def test_per_block_mid_channels_and_formula_stem():
    model = build('R(2+1)D', mid_channels_rule='per_block', stem_mid_channels=None)
    assert [model.layer2[0].conv2.conv.mid_channels, model.layer3[0].conv2.conv.mid_channels,
            model.layer4[0].conv2.conv.mid_channels] == [230, 460, 921]
    assert model.conv1.conv.mid_channels == 83
    # torchvision's rule with its 45-channel stem: r2plus1d_18's 31,505,325 with fc 400.
    torchvision_like = build('R(2+1)D', mid_channels_rule='per_block')
    assert num_params(torchvision_like) + FC_400 == 31_505_325


def test_conv_kinds_own_their_temporal_stride():
    mc3 = build('MC3', depth=10, base_channels=8)
    # 2D groups downsample 1x2x2 only, conv and shortcut alike.
    assert mc3.layer2[0].conv1.conv.stride == (1, 2, 2)
    assert mc3.layer2[0].downsample.conv.stride == (1, 2, 2)
    r21d = build('R(2+1)D', depth=10, base_channels=8)
    assert r21d.layer2[0].conv1.conv.spatial.stride == (1, 2, 2)
    assert r21d.layer2[0].conv1.conv.temporal.stride == (2, 1, 1)
    assert r21d.layer2[0].downsample.conv.stride == (2, 2, 2)


def test_no_max_pool_and_vmz_short_clip_rule():
    model = build('R3D', clip_len=4, depth=10, base_channels=8).eval()
    assert not any(isinstance(m, (torch.nn.MaxPool3d, torch.nn.MaxPool2d))
                   for m in model.modules())
    # VMZ keeps conv4_x's temporal stride for 4 frames but drops conv5_x's.
    assert model.layer3[0].conv1.conv.stride == (2, 2, 2)
    assert model.layer4[0].conv1.conv.stride == (1, 2, 2)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 4, 32, 32)).shape == (1, 64, 1, 2, 2)


@pytest.mark.parametrize('depth,blocks', [(10, 4), (16, 7), (18, 8), (26, 12), (34, 16)])
def test_depths(depth, blocks):
    model = build('R3D', depth=depth, base_channels=4)
    assert sum(isinstance(m, BasicBlock3d) for m in model.modules()) == blocks


def test_flow_input_channels():
    model = build('R(2+1)D', in_channels=2, depth=10, base_channels=8).eval()
    assert model.conv1.conv.spatial.in_channels == 2
    with torch.no_grad():
        assert model(torch.randn(2, 2, 8, 32, 32)).shape == (2, 64, 1, 2, 2)


@pytest.mark.parametrize('training', [True, False])  # plain path; folded and fused path
def test_r2d_refuses_a_clip_of_another_length(training):
    model = build('R2D', clip_len=8, depth=10, base_channels=8).train(training)
    with torch.no_grad(), pytest.raises(ValueError, match='clip_len=8.*16 frames'):
        model(torch.randn(1, 3, 16, 32, 32))


@pytest.mark.parametrize('kwargs,message', [
    (dict(type='SpatioTemporalResNet', depth=50), 'invalid depth 50'),
    (dict(type='SpatioTemporalResNet', group_convs=('3d', ) * 4), 'needs 5 conv kinds'),
    (dict(type='SpatioTemporalResNet', group_convs=('3d', 'r2d', '2d', '2d', '2d')),
     "group 2: unknown conv kind 'r2d'"),
    (dict(type='SpatioTemporalResNet', group_convs=('r2d', ) + ('2d', ) * 4),
     'set clip_len'),
    (dict(type='MixedConvResNet', switch_group=6), 'must be 2..5'),
    (dict(type='ResNet2Plus1dHomog', group_convs=('3d', ) * 5), 'fixes group_convs'),
])
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises((ValueError, KeyError, TypeError), match=message):
        MODELS.build(kwargs)


def test_paper_backbone_names():
    assert paper_backbone('MC4') == dict(type='MixedConvResNet', switch_group=4, depth=18,
                                         clip_len=8, in_channels=3)
    assert paper_backbone('rMC2', depth=34)['type'] == 'ReversedMixedConvResNet'
    assert paper_backbone('R(2+1)D', in_channels=2, with_cp=True)['with_cp'] is True
    with pytest.raises(KeyError, match='unknown network'):
        paper_backbone('MC6')


def test_frozen_stages_and_norm_eval():
    model = build('R(2+1)D', depth=10, base_channels=8, frozen_stages=2, norm_eval=True)
    model.train()
    for module in (model.conv1, model.layer1, model.layer2):
        assert all(not p.requires_grad for p in module.parameters())
        assert check_norm_state(module.modules(), False)
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert check_norm_state(model.modules(), False)  # norm_eval: every norm in eval

    model = build('R(2+1)D', depth=10, base_channels=8, frozen_stages=0)
    model.train()
    assert all(not p.requires_grad for p in model.conv1.parameters())
    assert check_norm_state(model.layer1.modules(), True)
    x = torch.randn(2, 3, 8, 32, 32)
    frozen_before = model.conv1.norm.running_mean.clone()
    model(x).sum().backward()
    assert torch.equal(model.conv1.norm.running_mean, frozen_before)
    assert model.conv1.conv.spatial.weight.grad is None


def test_zero_init_residual():
    model = build('R3D', depth=10, base_channels=8)
    model.init_weights()
    for layer in (model.layer1, model.layer4):
        assert torch.count_nonzero(layer[0].conv2.norm.weight) == 0
        assert torch.count_nonzero(layer[0].conv1.norm.weight) > 0


@pytest.mark.parametrize('name', ['R(2+1)D', 'MC3'])
def test_with_cp_equals_plain_path(name):
    torch.manual_seed(0)
    plain = build(name, depth=10, base_channels=8)
    checkpointed = build(name, depth=10, base_channels=8, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 8, 32, 32)
    outputs, grads = [], []
    for model in (plain, checkpointed):
        model.train()
        inputs = x.clone().requires_grad_()
        out = model(inputs)
        out.square().mean().backward()
        outputs.append(out)
        grads.append([p.grad for p in model.parameters()] + [inputs.grad])
    torch.testing.assert_close(outputs[0], outputs[1])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_out_indices_return_several_stages():
    model = build('R3D', depth=10, base_channels=8, out_indices=(2, 3)).eval()
    with torch.no_grad():
        c4, c5 = model(torch.randn(1, 3, 8, 32, 32))
    assert c4.shape == (1, 32, 2, 4, 4) and c5.shape == (1, 64, 1, 2, 2)


def test_stages_after_the_last_out_index_are_not_run():
    model = build('R3D', depth=10, base_channels=8, out_indices=(1, )).eval()
    ran = []
    for name in model.res_layers:
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: ran.append(name))
    with torch.no_grad():
        c3 = model(torch.randn(1, 3, 8, 32, 32))
    assert ran == ['layer1', 'layer2'] and c3.shape == (1, 16, 4, 8, 8)


def test_conv2plus1d_equals_its_two_convs():
    conv = Conv2Plus1d(in_channels=4, out_channels=6, spatial_kernel=3, temporal_kernel=3,
                       spatial_stride=2, temporal_stride=2).eval()
    x = torch.randn(1, 4, 8, 16, 16)
    expected = torch.nn.functional.conv3d(
        torch.relu(conv.mid_norm(torch.nn.functional.conv3d(
            x, conv.spatial.weight, stride=(1, 2, 2), padding=(0, 1, 1)))),
        conv.temporal.weight, stride=(2, 1, 1), padding=(1, 0, 0))
    with torch.no_grad():
        torch.testing.assert_close(conv(x), expected)
    assert conv.mid_channels == factorized_mid_channels(4, 6)
