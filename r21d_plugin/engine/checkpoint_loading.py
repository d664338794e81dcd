"""Safe checkpoint loading: torch's ``weights_only=True`` plus exactly what mmengine saves.

mmengine pickles its ``MessageHub`` (``HistoryBuffer`` objects holding numpy arrays and
scalars) into every checkpoint, which torch's safe unpickler refuses. Rather than turning safe
loading off, ``load_checkpoint_file`` allows exactly those types, and only while it loads:
torch's process-wide allow-list is left as it was after every call. Anything else in a file is
refused with ``UntrustedCheckpointError`` naming it, unless the user opts in to full
unpickling with ``R21D_TRUST_CHECKPOINTS=1``.

``compat`` makes this mmengine's loader for local files (``load_from``, ``resume``,
``load_checkpoint``) on the mmengine versions that need it.

Every load into a network (``apis.loading.load_recognizer``, the backbone's ``pretrained=``,
two-stream checkpoints) reads the file with ``read_state_dict`` and checks it with
``check_checkpoint_fits`` (``load_checked`` does both and loads): one
``CheckpointMismatchError`` naming the checkpoint, the network and what differs.
"""
import logging
import os
import pickle
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch

#: Set to 1 to load checkpoints that hold objects outside the allow-list (full unpickling,
#: which can run code from the file: only for files you trust).
TRUST_CHECKPOINTS_ENV = 'R21D_TRUST_CHECKPOINTS'

#: The statistics ``HistoryBuffer`` registers in its first ``__init__``.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the allow-list and the user has not opted in."""


def _history_buffer_statistic(owner: type, name: str) -> Any:
    """Stands in for ``getattr`` while unpickling under ``weights_only``.

    Protocol 2 pickles ``HistoryBuffer``'s statistics methods (``min``, ``max``, ``mean``,
    ``current``) as ``getattr(HistoryBuffer, name)``. Allowing the real ``getattr`` would
    let a checkpoint reach any attribute of any allowed object; this resolves only those.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    # The built-in four are registered by the first HistoryBuffer() only, which a process
    # that just loads a checkpoint has not made yet.
    if owner is HistoryBuffer and (name in _HISTORY_BUFFER_STATISTICS
                                   or name in HistoryBuffer._statistics_methods):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({owner!r}, {name!r}); under weights_only only '
        f'HistoryBuffer statistics methods are resolved')


def mmengine_checkpoint_safe_globals() -> List[Any]:
    """The non-tensor types an mmengine checkpoint carries, and nothing more."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    allowed = [HistoryBuffer, np.ndarray, np.dtype,
               (_history_buffer_statistic, 'builtins.getattr')]
    # Array reconstruction and numpy scalars are pickled through these functions.
    core = getattr(np, '_core', None) or np.core
    allowed += [core.multiarray._reconstruct, core.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes by their concrete class (e.g. Float64DType).
    if getattr(np, 'dtypes', None) is not None:
        allowed += [type(np.dtype(name)) for name in (
            'float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8',
            'uint8', 'bool')]
    return allowed


# One lock for the allow-list's lifetime: a load in another thread must not remove it
# while this one still unpickles (torch keeps one process-wide set).
_allow_list_lock = threading.RLock()


@contextmanager
def mmengine_safe_globals() -> Iterator[None]:
    """Allow what mmengine checkpoints carry in ``torch.load(weights_only=True)``, inside
    the block only.

    Entries someone else had allow-listed before stay allow-listed after it.
    """
    with _allow_list_lock:
        present = torch.serialization.get_safe_globals()
        added = [entry for entry in mmengine_checkpoint_safe_globals() if entry not in present]
        with torch.serialization.safe_globals(added):
            yield


def _trusts_checkpoints() -> bool:
    """Whether the user opted in to full unpickling (``R21D_TRUST_CHECKPOINTS=1``)."""
    return os.environ.get(TRUST_CHECKPOINTS_ENV, '').strip().lower() in ('1', 'true', 'yes')


class UnreadableCheckpointError(RuntimeError):
    """A checkpoint file is there but torch cannot read it (truncated, corrupt, not one)."""

    def __init__(self, filename: str, reason: object) -> None:
        # torch's first sentence says what failed; the rest is general advice.
        first = re.split(r'(?<=\.)\s', str(reason).strip())[0].rstrip('.')
        super().__init__(
            f'{filename} is not a readable checkpoint (truncated or corrupt?): {first}. '
            'Expected a file written by torch.save, as training runs and '
            'r21d-convert-weights write them.')


def load_checkpoint_file(filename: str, map_location: Any = None) -> Any:
    """``torch.load`` under ``weights_only=True`` with the mmengine allow-list.

    Args:
        filename (str): a local checkpoint file (``~`` is expanded).
        map_location: as for ``torch.load``. Default: None.

    Returns:
        The unpickled checkpoint, usually a dict.

    Raises:
        FileNotFoundError: no such file.
        UntrustedCheckpointError: the file holds an object outside the allow-list (named in
            the message) and ``R21D_TRUST_CHECKPOINTS`` is not set; with it set, the file
            is loaded with full unpickling and a warning.
        RuntimeError: a truncated or corrupt file, named.
    """
    from mmengine.logging import print_log
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        with mmengine_safe_globals():
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


def load_from_local_weights_only(filename: str, map_location: Any = None) -> Any:
    """mmengine's local-file loader scheme, as ``load_checkpoint_file``.

    Named ``load_from_*``: mmengine logs "Loads checkpoint by <name[10:]> backend".
    """
    return load_checkpoint_file(filename, map_location)


# ------------------------------------------------------------------ does it fit the network

#: Input channels by modality, for messages.
CHANNELS = {3: 'RGB', 2: 'optical flow (dx, dy)'}
#: Keys named in a message per kind of difference; the rest are counted.
SHOWN_KEYS = 3


class CheckpointMismatchError(ValueError):
    """A checkpoint that does not fit the network it is loaded into; the message names both,
    and the input channels, classes or keys that differ."""


def read_state_dict(checkpoint: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The state dict (``module.`` prefixes of distributed wrappers removed) and the meta
    of a checkpoint, read as mmengine reads it (local files: ``load_checkpoint_file``).

    Raises:
        CheckpointMismatchError: the file holds no state dict.
        FileNotFoundError, UnreadableCheckpointError, UntrustedCheckpointError: as
            ``load_checkpoint_file``.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu', logger='silent')
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not state:
        raise CheckpointMismatchError(f'checkpoint {checkpoint}: no state_dict in it')
    state = OrderedDict((key[len('module.'):] if key.startswith('module.') else key, value)
                        for key, value in state.items())
    return state, (loaded.get('meta') or {})


def _listed(keys: Sequence[str]) -> str:
    return ', '.join(keys[:SHOWN_KEYS]) + (', ...' if len(keys) > SHOWN_KEYS else '')


def check_checkpoint_fits(model: torch.nn.Module, state: Dict[str, torch.Tensor],
                          checkpoint: str, target: str, meta: Optional[dict] = None) -> None:
    """Refuse a state dict that ``model.load_state_dict(state, strict=True)`` would not take.

    Input channels and classes first (the mistakes users make: an RGB checkpoint for a flow
    config, another dataset's classifier), then every key and shape.

    Args:
        model (nn.Module): the network (a recognizer, a backbone, a stream).
        state (dict): the checkpoint's state dict (``read_state_dict``).
        checkpoint (str): the checkpoint, for messages.
        target (str): what ``model`` is, for messages (``'config x.py'``).
        meta (dict, optional): the checkpoint's meta; a converted checkpoint's source is
            named.

    Raises:
        CheckpointMismatchError: naming the checkpoint, the target and the difference.
    """
    own = model.state_dict()
    first_conv = next((key for key, value in own.items() if value.dim() == 5), None)
    theirs = state.get(first_conv)
    if theirs is not None and theirs.dim() == 5 and theirs.shape[1] != own[first_conv].shape[1]:
        have, want = int(theirs.shape[1]), int(own[first_conv].shape[1])
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint} takes {have}-channel {CHANNELS.get(have, "")} input, but '
            f'{target} builds a network for {want}-channel {CHANNELS.get(want, "")} input: '
            f'use the {CHANNELS.get(have, "matching")} config of this checkpoint'
            + (' (a flow stream goes to --flow-config / flow=...)' if have == 2 else ''))
    classifiers = [key for key, value in own.items() if value.dim() == 2]
    theirs = state.get(classifiers[-1]) if classifiers else None
    if theirs is not None and theirs.shape[0] != own[classifiers[-1]].shape[0]:
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint} has {int(theirs.shape[0])} classes ({classifiers[-1]}) '
            f'but {target} builds {int(own[classifiers[-1]].shape[0])} '
            f'(model.cls_head.num_classes): use the checkpoint\'s own config')
    shapes = [f'{key}: checkpoint {list(state[key].shape)}, {target} {list(value.shape)}'
              for key, value in own.items() if key in state and state[key].shape != value.shape]
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own]
    if shapes or missing or unexpected:
        meta = meta or {}
        source = (f' (converted from {meta["source"]}\'s {meta.get("arch")}: '
                  f'configs/pretrained/README.md names its config)' if 'source' in meta else '')
        details = [f'{len(keys)} {what} ({_listed(keys)})' for what, keys in (
            ('tensors differ in shape', shapes), ('keys missing from the checkpoint', missing),
            ('keys not in the network', unexpected)) if keys]
        raise CheckpointMismatchError(f'checkpoint {checkpoint} does not fit {target}{source}: '
                                      + '; '.join(details))


def load_checked(model: torch.nn.Module, checkpoint: str, target: str,
                 prefix: str = '') -> None:
    """Load ``checkpoint`` into ``model`` strictly, after ``check_checkpoint_fits``.

    ``prefix``: where the checkpoint holds a larger network (a recognizer's ``backbone.``),
    only its keys under ``prefix``, without it.
    """
    state, meta = read_state_dict(checkpoint)
    if prefix and any(key.startswith(prefix) for key in state):
        state = OrderedDict((key[len(prefix):], value) for key, value in state.items()
                            if key.startswith(prefix))
    check_checkpoint_fits(model, state, checkpoint, target, meta)
    model.load_state_dict(state, strict=True)
