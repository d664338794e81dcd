"""Every fix the MMAction2 1.2.0 / mmengine 0.10.7 / torch >= 2.4 stack needs, in one place.

Each fix applies only where its upstream bug is present (a missing file, a version range, an
import that fails) and is a no-op where the upstream stack is already right, so a future
MMAction2, mmengine or torchvision release needs no change here. ``apply()`` runs once, from
``r21d_plugin/__init__.py``, before anything imports ``mmaction.models``. What each fix
changes for other code in the process: ``docs/what-importing-changes.md``.

Fixes that live elsewhere, because they are install-time facts or features of their own:

* ``importlib_metadata`` (imported but not declared by mmaction2) and ``setuptools<82``
  (mmengine needs ``pkg_resources`` for ``mmaction::`` bases) are pinned in ``setup.py``.
* CPU distributed launching (mmengine always calls ``torch.cuda.set_device``) is handled
  in ``r21d_plugin.engine.launch``, which the tools use.
* Safe checkpoint loading is ``r21d_plugin.engine.checkpoint_loading``; this module only
  makes it mmengine's local loader where mmengine's own cannot load its checkpoints.
"""
import ast
import glob
import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import types
import warnings
from typing import Any, Callable, Dict, Optional, Tuple

_applied = False


def _mmaction_dir() -> Optional[str]:
    """mmaction's package folder, found without importing it (that may be what fails)."""
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return None
    return spec.submodule_search_locations[0]


def _stub_missing_drn() -> bool:
    """mmaction2 1.2.0's wheel lacks ``mmaction/models/localizers/drn`` (mmaction2#2714).

    ``mmaction/models/localizers/__init__.py`` imports ``DRN`` from it, so ``import
    mmaction.models`` fails. Only where that folder is missing (and no one has provided the
    module) we register a stub package whose ``DRN`` raises a clear error if anyone actually
    builds it; recognition models never do.
    """
    if 'mmaction.models.localizers.drn' in sys.modules:
        return False
    mmaction_dir = _mmaction_dir()
    if mmaction_dir is None:
        return False
    localizers = os.path.join(mmaction_dir, 'models', 'localizers')
    if not os.path.isdir(localizers) or os.path.isdir(os.path.join(localizers, 'drn')):
        return False

    class DRN:  # noqa: D401 - a placeholder with the upstream name
        """Placeholder for the DRN localizer missing from the mmaction2 1.2.0 wheel."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'DRN is missing from the mmaction2 1.2.0 wheel (mmaction2#2714); '
                'r21d_plugin stubbed it so that recognition models import. Install '
                'mmaction2 from source to use DRN.')

    package = types.ModuleType('mmaction.models.localizers.drn')
    package.__path__ = []  # a package, so that `drn.drn` resolves
    module = types.ModuleType('mmaction.models.localizers.drn.drn')
    module.DRN = DRN
    package.drn = module
    sys.modules[package.__name__] = package
    sys.modules[module.__name__] = module
    return True


def _installed_release(package: str) -> Optional[Tuple[int, int]]:
    """(major, minor) of an installed distribution; None where it is not installed."""
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    major, minor = re.match(r'(\d+)\.(\d+)', version).groups()
    return int(major), int(minor)


def _mmengine_local_loader_is_safe(loader: Callable[[str, Any], Any]) -> bool:
    """Whether mmengine's local loader ``loader`` loads mmengine's own checkpoints and refuses
    anything else: found by trying it, whatever the versions say.

    mmengine 0.10.x calls ``torch.load`` without ``weights_only``: torch >= 2.6 then refuses
    the ``HistoryBuffer`` every mmengine checkpoint carries, while older torch (or
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``) unpickles anything, code included.
    """
    import fractions
    import tempfile

    import torch
    from mmengine.logging.history_buffer import HistoryBuffer

    with tempfile.TemporaryDirectory(prefix='r21d-probe-') as directory:
        own, foreign = os.path.join(directory, 'own.pth'), os.path.join(directory, 'foreign.pth')
        torch.save({'message_hub': {'log': HistoryBuffer([1.0], [1])}}, own)
        # A harmless object outside any allow-list stands for one that runs code.
        torch.save({'payload': fractions.Fraction(1, 3)}, foreign)
        try:
            loader(own, 'cpu')
        except Exception:
            return False
        try:
            loader(foreign, 'cpu')
        except Exception:
            return True
        return False


def _load_local_checkpoints_safely() -> bool:
    """Make mmengine (``load_from``, ``resume``, ``load_checkpoint``) load local files with
    ``engine.checkpoint_loading``, where its own loader refuses its own checkpoints or loads
    objects that could run code.

    torch's refusal would tell the user to pass ``weights_only=False``, which no config can
    do. mmengine's own local loader is replaced, never one another package registered.
    """
    from mmengine.runner import checkpoint
    if checkpoint.CheckpointLoader._schemes.get('') is not checkpoint.load_from_local:
        return False
    if _mmengine_local_loader_is_safe(checkpoint.load_from_local):
        return False
    from .engine.checkpoint_loading import load_from_local_weights_only
    checkpoint.CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_weights_only, force=True)
    return True


def _first_failing_import(package_dir: str) -> Optional[str]:
    """The first module-level import of a package's files that fails here, as
    ``'module.name: error'``; None when they all succeed.

    Only absolute imports of other packages are tried: the package's relative imports are
    its own files (read here too) and ``mmaction``'s would import the package under test.
    """
    for path in sorted(glob.glob(os.path.join(package_dir, '*.py'))):
        with open(path, encoding='utf-8') as source:
            tree = ast.parse(source.read(), path)
        for node in tree.body:
            if isinstance(node, ast.Import):
                wanted = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                wanted = [(node.module, alias.name) for alias in node.names]
            else:
                continue
            for module, name in wanted:
                if module.split('.')[0] == 'mmaction':
                    continue
                try:
                    imported = importlib.import_module(module)
                    if name not in (None, '*') and not hasattr(imported, name):
                        importlib.import_module(f'{module}.{name}')  # a submodule
                # Anything an import raises counts: lazy modules (transformers') raise
                # RuntimeError for a name whose module fails to import.
                except Exception as exc:  # noqa: BLE001
                    return f'{module}{"." + name if name else ""}: {exc}'
    return None


def _skip_multimodal_where_it_cannot_import() -> bool:
    """mmaction2 1.2.0 imports its VindLU models whenever transformers >= 4.28 is installed;
    where their imports fail (transformers 5 removed names they use), ``import
    mmaction.models`` fails with them.

    Recognition never uses them: only where VindLU's own imports fail do we take mmaction's
    path for "multimodal not installed" (placeholders that explain themselves if built).
    """
    from mmaction.utils import dependency
    if not dependency.WITH_MULTIMODAL:
        return False  # mmaction registers its placeholders itself
    vindlu = os.path.join(_mmaction_dir(), 'models', 'multimodal', 'vindlu')
    if not os.path.isdir(vindlu) or _first_failing_import(vindlu) is None:
        return False
    dependency.WITH_MULTIMODAL = False
    return True


#: Kept alive for the process: dropping a ``torch.library.Library`` removes its definitions.
_torchvision_op_schemas = None


def _declare_torchvision_ops_its_extension_cannot_load() -> bool:
    """Let torchvision import where its C extension cannot load beside the installed torch.

    PyPI's torchvision wheels are CUDA builds: beside a CPU torch their ``_C`` extension does
    not load, which torchvision tolerates everywhere but in ``_meta_registrations``, where
    ``nms`` and ``qnms`` get fake kernels without the guard its other ops have, so ``import
    torchvision`` fails ("operator torchvision::nms does not exist"), and with it every
    mmengine ``Runner`` (its environment report imports torchvision). Only in that case
    are those two schemas declared (no kernel: calling them still fails clearly); the video
    models and transforms use no C op. Where the extension loads, or torchvision is absent
    or already imported, nothing changes. torchvision itself is not imported here.
    """
    global _torchvision_op_schemas
    if _torchvision_op_schemas is not None or 'torchvision' in sys.modules:
        return False
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return False
    extensions = glob.glob(os.path.join(spec.submodule_search_locations[0], '_C*.so'))
    if not extensions:
        return False
    import torch
    try:
        torch.ops.load_library(extensions[0])  # what torchvision's import does first
        return False
    except OSError:
        pass
    _torchvision_op_schemas = torch.library.Library('torchvision', 'DEF')
    for op in ('nms', 'qnms'):
        _torchvision_op_schemas.define(
            f'{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    return True


def _silence_mmcv_lite_ops_warning() -> bool:
    """Hide mmcv-lite's warning that it has no ``MultiScaleDeformableAttention``.

    ``mmcv.cnn`` warns on import that the op needs full mmcv. mmcv-lite is the install here
    because full mmcv has no wheel for current torch, and the recognition path never uses
    the op, so every run printed a warning no user can act on. Only that message is
    filtered, and only where mmcv-lite (not mmcv) is what is installed.
    """
    if _installed_release('mmcv-lite') is None or _installed_release('mmcv') is not None:
        return False
    warnings.filterwarnings(
        'ignore', message=re.escape('Fail to import ``MultiScaleDeformableAttention``'),
        category=UserWarning, module=re.escape('mmcv.cnn.bricks.transformer'))
    return True


#: Each fix by the name ``APPLIED`` reports it under, in the order ``apply()`` runs them.
_FIXES = {
    'mmcv_lite_ops_warning': _silence_mmcv_lite_ops_warning,
    'drn_stub': _stub_missing_drn,
    'torchvision_op_schemas': _declare_torchvision_ops_its_extension_cannot_load,
    'multimodal_placeholders': _skip_multimodal_where_it_cannot_import,
    'safe_mmengine_local_loader': _load_local_checkpoints_safely,
}

#: Which fixes changed something in this process (True) and which found upstream right
#: (False); filled by ``apply()``.
APPLIED: Dict[str, bool] = {}


def apply() -> None:
    """Apply every fix where it is needed, once; safe to call repeatedly."""
    global _applied
    if _applied:
        return
    for name, fix in _FIXES.items():
        changed = fix()
        APPLIED[name] = APPLIED.get(name, False) or changed
    _applied = True
