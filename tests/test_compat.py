"""The upstream-stack fixes applied by ``import r21d_plugin``."""
import pickle
import warnings

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

import r21d_plugin  # noqa: F401
from r21d_plugin import compat


def test_mmaction_models_import_despite_the_missing_drn_module():
    import mmaction.models  # noqa: F401 - fails on the bare 1.2.0 wheel
    from mmaction.models.localizers import DRN
    with pytest.raises(ImportError, match='mmaction2#2714'):
        DRN()


def test_apply_is_idempotent():
    compat.apply()
    compat.apply()


def test_mmengine_message_hub_loads_under_weights_only(tmp_path):
    hub = MessageHub.get_instance('compat_test')
    for step in range(3):
        hub.update_scalar('train/loss', np.float64(1.0 / (step + 1)))
        hub.update_scalar('train/lr', 0.01)
    hub.update_info('iter', 3)
    checkpoint = dict(state_dict={'w': torch.ones(2)}, message_hub=hub.state_dict(),
                      meta=dict(seed=np.int64(0), epoch=1))
    path = tmp_path / 'epoch_1.pth'
    torch.save(checkpoint, path)
    loaded = torch.load(path, weights_only=True)
    restored = MessageHub.get_instance('compat_restored')
    restored.load_state_dict(loaded['message_hub'])
    assert restored.get_scalar('train/loss').data[0].tolist() == [1.0, 0.5, 1.0 / 3]


class NotAllowListed:

    def __reduce__(self):
        return (print, ('this would run at load time', ))


def test_anything_else_is_still_refused(tmp_path):
    path = tmp_path / 'hostile.pth'
    torch.save({'payload': NotAllowListed()}, path)
    with pytest.raises(pickle.UnpicklingError, match='print'):
        torch.load(path, weights_only=True)


class ReachesForAttributes:

    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


def test_getattr_resolves_history_buffer_statistics_only(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'payload': ReachesForAttributes()}, path)
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer statistics'):
        torch.load(path, weights_only=True)


@pytest.mark.parametrize('installed, multimodal', [('5.17.0', False), ('4.46.0', True)])
def test_multimodal_models_are_skipped_with_transformers_5(monkeypatch, installed,
                                                            multimodal):
    from mmaction.utils import dependency
    monkeypatch.setattr(dependency, 'WITH_MULTIMODAL', True)  # as with transformers there
    monkeypatch.setattr(compat.importlib.metadata, 'version', lambda name: installed)
    compat._skip_multimodal_with_transformers_5()
    assert dependency.WITH_MULTIMODAL is multimodal


MMCV_LITE_WARNING = ('Fail to import ``MultiScaleDeformableAttention`` from '
                     '``mmcv.ops.multi_scale_deform_attn``, You should install ``mmcv`` rather '
                     'than ``mmcv-lite`` if you need this module. ')


def _warnings_shown(monkeypatch, installed) -> list:
    """The warnings of mmcv.cnn's import, and another, once compat has run with
    ``installed`` telling which distributions are there."""
    monkeypatch.setattr(compat, '_installed', installed)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter('always')
        compat._silence_mmcv_lite_ops_warning()
        for message in (MMCV_LITE_WARNING, 'another warning'):
            warnings.warn_explicit(message, UserWarning, 'transformer.py', 33,
                                   module='mmcv.cnn.bricks.transformer')
    return [str(warning.message) for warning in shown]


def test_only_mmcv_lites_ops_warning_is_silenced_and_only_under_mmcv_lite(monkeypatch):
    assert compat._installed('mmcv-lite') and not compat._installed('no-such-distribution')
    assert _warnings_shown(monkeypatch, lambda name: name == 'mmcv-lite') == ['another warning']
    both = [MMCV_LITE_WARNING, 'another warning']
    assert _warnings_shown(monkeypatch, lambda name: True) == both  # full mmcv too
    assert _warnings_shown(monkeypatch, lambda name: name == 'mmcv') == both
