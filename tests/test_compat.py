"""The upstream-stack fixes applied by ``import r21d_plugin``: each applies only where needed."""
import collections
import sys
import warnings
from pathlib import Path

import pytest
import torch
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

import r21d_plugin  # noqa: F401
from r21d_plugin import compat
from r21d_plugin.engine.checkpoint_loading import (load_from_local_weights_only,
                                                   mmengine_checkpoint_safe_globals)

DRN_MODULES = ('mmaction.models.localizers.drn', 'mmaction.models.localizers.drn.drn')


def test_mmaction_models_import_despite_the_missing_drn_module():
    import mmaction.models  # noqa: F401 - fails on the bare 1.2.0 wheel
    from mmaction.models.localizers import DRN
    with pytest.raises(ImportError, match='mmaction2#2714'):
        DRN()


def patched_state() -> tuple:
    from mmaction.utils import dependency
    return (CheckpointLoader._schemes[''], sys.modules[DRN_MODULES[0]],
            compat._torchvision_op_schemas, dependency.WITH_MULTIMODAL,
            torch.serialization.get_safe_globals())


def test_apply_is_idempotent(monkeypatch):
    before, applied = patched_state(), dict(compat.APPLIED)
    monkeypatch.setattr(compat, '_applied', False)  # run every fix again, twice
    compat.apply()
    compat.apply()
    after = patched_state()
    for first, again in zip(before[:3], after[:3]):
        assert again is first
    assert after[3] == before[3]
    assert after[4] == before[4]  # torch's allow-list did not grow
    assert compat.APPLIED == applied


def test_applied_says_which_fixes_changed_something():
    from mmaction.utils import dependency
    applied = compat.APPLIED
    assert list(applied) == ['mmcv_lite_ops_warning', 'drn_stub', 'torchvision_op_schemas',
                             'multimodal_placeholders', 'safe_mmengine_local_loader']
    assert applied['mmcv_lite_ops_warning'] is (
        compat._installed_release('mmcv-lite') is not None
        and compat._installed_release('mmcv') is None)
    wheel_drn = Path(compat._mmaction_dir(), 'models', 'localizers', 'drn')
    assert applied['drn_stub'] is not wheel_drn.is_dir()
    assert applied['torchvision_op_schemas'] is (compat._torchvision_op_schemas is not None)
    if applied['multimodal_placeholders']:
        assert dependency.WITH_MULTIMODAL is False
    assert applied['safe_mmengine_local_loader'] is (
        CheckpointLoader._schemes[''] is load_from_local_weights_only)


def test_importing_leaves_torchs_allow_list_alone():
    allowed = torch.serialization.get_safe_globals()
    assert not any(entry in allowed for entry in mmengine_checkpoint_safe_globals())


def fake_mmaction(root, with_drn: bool) -> str:
    localizers = root / 'mmaction' / 'models' / 'localizers'
    (localizers / ('drn' if with_drn else 'bmn')).mkdir(parents=True)
    return str(root / 'mmaction')


@pytest.mark.parametrize('with_drn', [False, True])
def test_drn_is_stubbed_only_where_the_wheel_lacks_it(monkeypatch, tmp_path, with_drn):
    for name in DRN_MODULES:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(compat, '_mmaction_dir', lambda: fake_mmaction(tmp_path, with_drn))
    compat._stub_missing_drn()
    assert (DRN_MODULES[1] in sys.modules) is not with_drn


def test_torchvision_ops_are_left_alone_where_its_extension_loads(monkeypatch):
    monkeypatch.setattr(compat, '_torchvision_op_schemas', None)
    monkeypatch.delitem(sys.modules, 'torchvision', raising=False)
    loaded = []
    monkeypatch.setattr(torch.ops, 'load_library', loaded.append)
    compat._declare_torchvision_ops_its_extension_cannot_load()
    assert compat._torchvision_op_schemas is None
    assert loaded and loaded[0].endswith('.so')


@pytest.fixture
def fake_vindlu(tmp_path):
    """A package with VindLU's kinds of imports; ``vindlu(line)`` adds one more."""
    package = tmp_path / 'mmaction' / 'models' / 'multimodal' / 'vindlu'  # the wheel's path
    package.mkdir(parents=True)
    (package / 'beit3d.py').write_text(
        'import json\nfrom os.path import join\nfrom mmaction.registry import MODELS\n'
        'from .xbert import BertModel\n\ndef later():\n    import not_checked_here\n')

    def vindlu(line: str = '') -> str:
        (package / 'xbert.py').write_text(line + '\n')
        return str(package)

    return vindlu


@pytest.mark.parametrize('line, failure', [
    ('', None),
    ('from json import no_such_name', 'json.no_such_name: No module named'),
    ('import no_such_module_r21d', "no_such_module_r21d: No module named 'no_such"),
])
def test_first_failing_import_tries_the_module_level_imports(fake_vindlu, line, failure):
    found = compat._first_failing_import(fake_vindlu(line))
    if failure is None:
        assert found is None
    else:
        assert found.startswith(failure)


@pytest.mark.parametrize('mmaction_says, line, multimodal', [
    (True, 'from json import dumps', True),  # its imports work: nothing changes
    (True, 'from json import removed_in_5', False),  # as with transformers 5
    (False, 'from json import removed_in_5', False),  # mmaction's own placeholders
])
def test_multimodal_models_are_skipped_only_where_their_imports_fail(
        monkeypatch, fake_vindlu, mmaction_says, line, multimodal):
    from mmaction.utils import dependency
    monkeypatch.setattr(dependency, 'WITH_MULTIMODAL', mmaction_says)
    mmaction_dir = str(Path(fake_vindlu(line)).parents[2])
    monkeypatch.setattr(compat, '_mmaction_dir', lambda: mmaction_dir)
    compat._skip_multimodal_where_it_cannot_import()
    assert dependency.WITH_MULTIMODAL is multimodal


@pytest.fixture
def mmengine_loader(monkeypatch):
    """mmengine's own local loader in place, as before ``import r21d_plugin``."""
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    schemes = collections.OrderedDict(CheckpointLoader._schemes)
    schemes[''] = mmengine_checkpoint.load_from_local
    monkeypatch.setattr(CheckpointLoader, '_schemes', schemes)  # register_scheme rebinds it


def versions(monkeypatch, torch_version: str, mmengine_version: str) -> None:
    installed = {'torch': torch_version, 'mmengine': mmengine_version}
    monkeypatch.setattr(compat.importlib.metadata, 'version', installed.__getitem__)


@pytest.mark.parametrize('torch_version, mmengine_version, replaced', [
    ('2.13.0+cpu', '0.10.7', True),
    ('2.6.0', '0.10.4', True),
    ('2.5.1', '0.10.7', True),  # full unpickling by default: a file could run code
    ('2.4.1', '0.10.7', True),
    ('2.13.0', '0.11.0rc0', False),  # its pre-releases load their own checkpoints
])
def test_mmengine_loader_is_replaced_only_where_it_cannot_load_its_checkpoints(
        monkeypatch, mmengine_loader, torch_version, mmengine_version, replaced):
    versions(monkeypatch, torch_version, mmengine_version)
    compat._load_local_checkpoints_safely()
    expected = load_from_local_weights_only if replaced else mmengine_checkpoint.load_from_local
    assert CheckpointLoader._schemes[''] is expected


def test_mmengine_loader_is_kept_where_torchs_safe_default_is_switched_off(
        monkeypatch, mmengine_loader):
    versions(monkeypatch, '2.13.0', '0.10.7')
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    compat._load_local_checkpoints_safely()
    assert CheckpointLoader._schemes[''] is mmengine_checkpoint.load_from_local


def test_a_local_loader_another_package_registered_is_kept(monkeypatch, mmengine_loader):
    versions(monkeypatch, '2.13.0', '0.10.7')

    def their_loader(filename, map_location=None):
        return {}

    CheckpointLoader.register_scheme(prefixes='', loader=their_loader, force=True)
    compat._load_local_checkpoints_safely()
    assert CheckpointLoader._schemes[''] is their_loader


MMCV_LITE_WARNING = ('Fail to import ``MultiScaleDeformableAttention`` from '
                     '``mmcv.ops.multi_scale_deform_attn``, You should install ``mmcv`` rather '
                     'than ``mmcv-lite`` if you need this module. ')


def _warnings_shown(monkeypatch, installed) -> list:
    """The warnings of mmcv.cnn's import, and another, once compat has run with
    ``installed`` telling which distributions are there."""
    monkeypatch.setattr(compat, '_installed_release',
                        lambda name: (2, 1) if installed(name) else None)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter('always')
        compat._silence_mmcv_lite_ops_warning()
        for message in (MMCV_LITE_WARNING, 'another warning'):
            warnings.warn_explicit(message, UserWarning, 'transformer.py', 33,
                                   module='mmcv.cnn.bricks.transformer')
    return [str(warning.message) for warning in shown]


def test_only_mmcv_lites_ops_warning_is_silenced_and_only_under_mmcv_lite(monkeypatch):
    assert compat._installed_release('mmcv-lite') and not compat._installed_release('no-such')
    assert _warnings_shown(monkeypatch, lambda name: name == 'mmcv-lite') == ['another warning']
    both = [MMCV_LITE_WARNING, 'another warning']
    assert _warnings_shown(monkeypatch, lambda name: True) == both  # full mmcv too
    assert _warnings_shown(monkeypatch, lambda name: name == 'mmcv') == both
