"""Exactness: a missing, extra or mis-shaped tensor fails, naming the offending keys."""
import pytest
import torch
from helpers import torchvision_model

from r21d_plugin.weights import ConversionError, convert_state_dict


@pytest.fixture(scope='module')
def mc3_state():
    return torchvision_model('mc3_18').state_dict()


def test_every_source_tensor_is_used_and_every_target_set(mc3_state):
    state, meta = convert_state_dict(mc3_state, 'torchvision')
    # One target tensor per source tensor, and nothing else.
    assert len(state) == len(mc3_state)
    assert sum(t.numel() for t in state.values()) == sum(t.numel() for t in mc3_state.values())
    for ours, theirs in [('backbone.conv1.conv.weight', 'stem.0.weight'),
                         ('backbone.conv1.norm.running_var', 'stem.1.running_var'),
                         ('backbone.layer2.0.downsample.norm.running_mean',
                          'layer2.0.downsample.1.running_mean'),
                         ('backbone.layer4.1.conv2.norm.num_batches_tracked',
                          'layer4.1.conv2.1.num_batches_tracked'),
                         ('cls_head.fc_cls.bias', 'fc.bias')]:
        assert torch.equal(state[ours], mc3_state[theirs]), ours
    assert meta['backbone']['group_convs'] == ['3d', '3d', '2d', '2d', '2d']


@pytest.mark.parametrize('arch', [None, 'mc3_18'])
def test_missing_key_is_named(mc3_state, arch):
    state = dict(mc3_state)
    del state['layer3.1.conv2.1.running_var']
    with pytest.raises(ConversionError) as error:
        convert_state_dict(state, 'torchvision', arch=arch, name='mc3.pth')
    message = str(error.value)
    assert "mc3.pth does not match mc3_18" in message
    assert "missing source keys (1): 'layer3.1.conv2.1.running_var'" in message
    assert 'unused' not in message


@pytest.mark.parametrize('arch', [None, 'mc3_18'])
def test_extra_key_is_named(mc3_state, arch):
    state = dict(mc3_state, **{'layer4.1.conv3.weight': torch.zeros(1, 1, 1, 1, 1)})
    with pytest.raises(ConversionError) as error:
        convert_state_dict(state, 'torchvision', arch=arch, name='mc3.pth')
    message = str(error.value)
    assert "unused source keys (1): 'layer4.1.conv3.weight'" in message
    assert 'missing' not in message


def test_wrong_shape_is_named(mc3_state):
    state = dict(mc3_state)
    state['layer1.0.conv2.1.bias'] = torch.zeros(65)
    with pytest.raises(ConversionError) as error:
        convert_state_dict(state, 'torchvision', name='mc3.pth')
    assert ('1 tensor(s) do not fit mc3_18' in str(error.value)
            and 'layer1.0.conv2.1.bias (65,) -> backbone.layer1.0.conv2.norm.bias (64,)'
            in str(error.value))


def test_no_classifier_or_no_network(mc3_state):
    state = {k: v for k, v in mc3_state.items() if not k.startswith('fc.')}
    with pytest.raises(ConversionError, match='no classifier'):
        convert_state_dict(state, 'torchvision')
    with pytest.raises(ConversionError, match="no torchvision network found.*'stem.0.weight'"):
        convert_state_dict({'fc.weight': torch.zeros(3, 512), 'fc.bias': torch.zeros(3)},
                           'torchvision')


def test_unknown_source_and_arch(mc3_state):
    with pytest.raises(ConversionError, match="unknown source 'onnx'"):
        convert_state_dict(mc3_state, 'onnx')
    with pytest.raises(ConversionError, match="unknown arch 'mc7_18'"):
        convert_state_dict(mc3_state, 'caffe2', arch='mc7_18')
