"""One name per position: the paper's groups conv1..conv5 are accepted wherever a position is
named, and mean what the numbers mean."""
import pytest
import torch
from mmaction.registry import MODELS

import r21d_plugin  # noqa: F401
from r21d_plugin import paper_backbone
from r21d_plugin.apis.features import LAYER_STAGES
from r21d_plugin.models.positions import (FEATURE_LAYERS, MODULES, frozen_stages_index,
                                          out_indices_numbers)


def backbone(**options):
    return MODELS.build(paper_backbone('R(2+1)D', depth=10, clip_len=4, base_channels=4,
                                       **options))


def test_the_table_matches_the_backbone_modules_and_feature_layers():
    model = backbone()
    assert [name for name, _ in model.named_children()] == list(MODULES.values())
    assert LAYER_STAGES is FEATURE_LAYERS
    assert FEATURE_LAYERS == {'pool5': 3, 'conv5': 3, 'conv4': 2, 'conv3': 1, 'conv2': 0}


@pytest.mark.parametrize('names, numbers', [(('conv3', 'conv5_x'), (1, 3)), (['conv2'], (0, ))])
def test_out_indices_by_name_return_the_same_maps_as_by_number(names, numbers):
    torch.manual_seed(0)
    by_name = backbone(out_indices=names).eval()
    by_number = backbone(out_indices=numbers).eval()
    by_number.load_state_dict(by_name.state_dict())
    clip = torch.randn(1, 3, 4, 16, 16)
    with torch.no_grad():
        for a, b in zip(*(torch.utils._pytree.tree_leaves(m(clip)) for m in (by_name,
                                                                            by_number))):
            assert torch.equal(a, b)


def test_frozen_stages_by_name_freezes_up_to_that_group():
    model = backbone(frozen_stages='conv2').train()  # frozen by train(), as mmengine calls it
    frozen = {name.split('.')[0] for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {'conv1', 'layer1'} and frozen_stages_index(2) == 2


@pytest.mark.parametrize('call, message', [
    (lambda: out_indices_numbers(['conv1']), r"out_indices: unknown position 'conv1'"),
    (lambda: out_indices_numbers([4]), 'out_indices must name stages within 0..3'),
    (lambda: frozen_stages_index('pool5'), r"frozen_stages: unknown position 'pool5'"),
    (lambda: frozen_stages_index(5), 'frozen_stages must be -1..4'),
])
def test_unknown_positions_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
