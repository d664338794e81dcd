"""Every fix the MMAction2 1.2.0 / mmengine 0.10.7 / torch >= 2.6 stack needs, in one place.

Each fix is as narrow as possible and a no-op where the upstream stack is already right,
so a future MMAction2 or mmengine release needs no change here. ``apply()`` runs once,
from ``r21d_plugin/__init__.py``, before anything imports ``mmaction.models``.

Fixes that live elsewhere, because they are install-time facts:

* ``importlib_metadata`` (imported but not declared by mmaction2) and ``setuptools<82``
  (mmengine needs ``pkg_resources`` for ``mmaction::`` bases) are pinned in ``setup.py``.
* CPU distributed launching (mmengine always calls ``torch.cuda.set_device``) is handled
  in ``r21d_plugin.engine.launch``, which the tools use.
"""
import glob
import importlib.metadata
import importlib.util
import logging
import os
import pickle
import re
import sys
import types
import warnings

_applied = False


def _stub_missing_drn() -> None:
    """mmaction2 1.2.0's wheel lacks ``mmaction/models/localizers/drn`` (mmaction2#2714).

    ``mmaction/models/localizers/__init__.py`` imports ``DRN`` from it, so ``import
    mmaction.models`` fails. We register a stub package whose ``DRN`` raises a clear error
    if anyone actually builds it; recognition models never do.
    """
    if 'mmaction.models.localizers.drn' in sys.modules:
        return
    # Look at the files, not the import system: importing the parent package is
    # exactly what fails.
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return
    localizers = os.path.join(spec.submodule_search_locations[0], 'models', 'localizers')
    if not os.path.isdir(localizers) or os.path.isdir(os.path.join(localizers, 'drn')):
        return

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


def _history_buffer_statistic(owner: type, name: str):
    """Stands in for ``getattr`` while unpickling under ``weights_only``.

    Protocol 2 pickles ``HistoryBuffer``'s statistics methods (``min``, ``max``, ``mean``,
    ``current``) as ``getattr(HistoryBuffer, name)``. Allowing the real ``getattr`` would
    let a checkpoint reach any attribute of any allowed object; this resolves only those.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    # The built-in four are registered by the first HistoryBuffer() only, which a process
    # that just loads a checkpoint has not made yet.
    if owner is HistoryBuffer and (name in ('min', 'max', 'mean', 'current')
                                   or name in HistoryBuffer._statistics_methods):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({owner!r}, {name!r}); under weights_only only '
        f'HistoryBuffer statistics methods are resolved')


def mmengine_checkpoint_safe_globals() -> list:
    """The non-tensor types an mmengine 0.10.7 checkpoint carries, and nothing more.

    torch >= 2.6 loads with ``weights_only=True``. mmengine pickles its ``MessageHub``
    (``HistoryBuffer`` objects holding numpy arrays and scalars) into ``message_hub`` of
    every checkpoint, so ``resume``/``load_from`` fail. Allow-listing exactly these types
    keeps safe loading on for everything else.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    allowed = [HistoryBuffer, np.ndarray, np.dtype,
               (_history_buffer_statistic, 'builtins.getattr')]
    # Array reconstruction and numpy scalars are pickled through these functions.
    core = getattr(np, '_core', None) or np.core
    allowed += [core.multiarray._reconstruct, core.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes by their concrete class (e.g. Float64DType).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [type(np.dtype(name)) for name in (
            'float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8',
            'uint8', 'bool')]
    return allowed


def _allow_mmengine_checkpoints() -> None:
    import torch
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_checkpoint_safe_globals())


#: Set to 1 to load checkpoints that hold objects outside the allow-list (full unpickling,
#: which can run code from the file: only for files you trust).
TRUST_CHECKPOINTS_ENV = 'R21D_TRUST_CHECKPOINTS'


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the allow-list and the user has not opted in."""


class UnreadableCheckpointError(RuntimeError):
    """A checkpoint file is there but torch cannot read it (truncated, corrupt, not one)."""

    def __init__(self, filename: str, reason: object):
        # torch's first sentence says what failed; the rest is general advice.
        first = re.split(r'(?<=\.)\s', str(reason).strip())[0].rstrip('.')
        super().__init__(
            f'{filename} is not a readable checkpoint (truncated or corrupt?): {first}. '
            'Expected a file written by torch.save, as training runs and '
            'r21d-convert-weights write them.')


def _trusts_checkpoints() -> bool:
    return os.environ.get(TRUST_CHECKPOINTS_ENV, '').strip().lower() in ('1', 'true', 'yes')


def load_checkpoint_file(filename: str, map_location=None):
    """``torch.load`` under ``weights_only=True`` with the mmengine allow-list.

    Anything else in the file raises UntrustedCheckpointError naming it, unless
    ``R21D_TRUST_CHECKPOINTS=1`` is set, which falls back to full unpickling (with a
    warning). A truncated or corrupt file raises UnreadableCheckpointError (a RuntimeError)
    naming the file.
    """
    import torch
    from mmengine.logging import print_log
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if 'Weights only load failed' not in str(exc):
            raise UnreadableCheckpointError(filename, exc) from exc
        found = re.search(r'Unsupported global: GLOBAL (\S+)', str(exc))
        detail = re.search(r'WeightsUnpickler error:\s*(\S.*)', str(exc))
        what = (f'`{found.group(1)}`' if found else
                f'an object ({detail.group(1) if detail else "see the chained error"})')
        if not _trusts_checkpoints():
            raise UntrustedCheckpointError(
                f'{filename} holds {what}, which is not on the allow-list of what mmengine '
                'checkpoints carry, so it was not loaded: torch loads checkpoints with '
                'weights_only=True, and unpickling anything else can run code from the file. '
                f'If you trust this file, set {TRUST_CHECKPOINTS_ENV}=1 to load it in full.'
            ) from exc
        print_log(f'{filename} holds {what}; loading it with full unpickling because '
                  f'{TRUST_CHECKPOINTS_ENV} is set', logger='current', level=logging.WARNING)
        return torch.load(filename, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError) as exc:
        raise UnreadableCheckpointError(filename, exc) from exc


def _load_local_checkpoints_safely() -> None:
    """Make mmengine (``load_from``, ``resume``, ``load_checkpoint``) use load_checkpoint_file.

    mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, and torch's refusal tells
    the user to pass ``weights_only=False``, which no config can do.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    # mmengine logs "Loads checkpoint by <name[10:]> backend", expecting `load_from_*` names.
    def load_from_local_weights_only(filename, map_location=None):
        return load_checkpoint_file(filename, map_location)

    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_weights_only,
                                     force=True)


def _skip_multimodal_with_transformers_5() -> None:
    """mmaction2 1.2.0 imports its VindLU models whenever transformers >= 4.28 is installed,
    and they import names transformers 5 removed, so ``import mmaction.models`` fails.

    Recognition never uses them: with transformers >= 5 we take mmaction's own path for
    "multimodal not installed" (placeholders that explain themselves if built).
    """
    try:
        version = importlib.metadata.version('transformers')
    except importlib.metadata.PackageNotFoundError:
        return
    if int(version.split('.')[0]) < 5:
        return
    from mmaction.utils import dependency
    dependency.WITH_MULTIMODAL = False


#: Kept alive for the process: dropping a ``torch.library.Library`` removes its definitions.
_torchvision_op_schemas = None


def _declare_torchvision_ops_its_extension_cannot_load() -> None:
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
        return
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return
    extensions = glob.glob(os.path.join(spec.submodule_search_locations[0], '_C*.so'))
    if not extensions:
        return
    import torch
    try:
        torch.ops.load_library(extensions[0])  # what torchvision's import does first
        return
    except OSError:
        pass
    _torchvision_op_schemas = torch.library.Library('torchvision', 'DEF')
    for op in ('nms', 'qnms'):
        _torchvision_op_schemas.define(
            f'{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')

def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _silence_mmcv_lite_ops_warning() -> None:
    """Hide mmcv-lite's warning that it has no ``MultiScaleDeformableAttention``.

    ``mmcv.cnn`` warns on import that the op needs full mmcv. mmcv-lite is the install
    here because full mmcv has no wheel for current torch, and the recognition path never
    uses the op, so every run printed a warning no user can act on. Only that message is
    filtered, and only where mmcv-lite (not mmcv) is what is installed.
    """
    if _installed('mmcv-lite') and not _installed('mmcv'):
        warnings.filterwarnings(
            'ignore', message=re.escape('Fail to import ``MultiScaleDeformableAttention``'),
            category=UserWarning, module=re.escape('mmcv.cnn.bricks.transformer'))


def apply() -> None:
    """Apply every fix once; safe to call repeatedly."""
    global _applied
    if _applied:
        return
    _silence_mmcv_lite_ops_warning()
    _stub_missing_drn()
    _declare_torchvision_ops_its_extension_cannot_load()
    _skip_multimodal_with_transformers_5()
    _allow_mmengine_checkpoints()
    _load_local_checkpoints_safely()
    _applied = True
