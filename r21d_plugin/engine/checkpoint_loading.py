"""Safe checkpoint loading: torch's ``weights_only=True`` plus exactly what mmengine saves.

mmengine pickles its ``MessageHub`` (``HistoryBuffer`` objects holding numpy arrays and
scalars) into every checkpoint, which torch's safe unpickler refuses. Rather than turning safe
loading off, ``load_checkpoint_file`` allows exactly those types, and only while it loads:
torch's process-wide allow-list is left as it was after every call. Anything else in a file is
refused with ``UntrustedCheckpointError`` naming it, unless the user opts in to full
unpickling with ``R21D_TRUST_CHECKPOINTS=1``.

``compat`` makes this mmengine's loader for local files (``load_from``, ``resume``,
``load_checkpoint``) on the mmengine versions that need it.
"""
import functools
import logging
import os
import pickle
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator, List

import torch

#: Set to 1 to load checkpoints that hold objects outside the allow-list (full unpickling,
#: which can run code from the file: only for files you trust).
TRUST_CHECKPOINTS_ENV = 'R21D_TRUST_CHECKPOINTS'

#: The statistics ``HistoryBuffer`` registers in its first ``__init__``.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the allow-list and the user has not opted in."""


class _AttributeRefused(pickle.UnpicklingError):
    """A checkpoint's ``getattr`` asks for more than a HistoryBuffer statistics method."""


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
    raise _AttributeRefused(
        f'checkpoint asks for getattr({owner!r}, {name!r}); under weights_only only '
        f'HistoryBuffer statistics methods are resolved')


#: ``_history_buffer_statistic`` under the name pickles give ``getattr``: torch's allow-list
#: keys each entry by its ``__module__`` and ``__qualname__`` (``__name__`` in torch 2.4).
#: The ``(object, 'module.name')`` entries of torch >= 2.6 are not taken by 2.4 and 2.5.
_PICKLED_GETATTR = functools.partial(_history_buffer_statistic)
_PICKLED_GETATTR.__module__ = 'builtins'
_PICKLED_GETATTR.__name__ = _PICKLED_GETATTR.__qualname__ = 'getattr'


def mmengine_checkpoint_safe_globals() -> List[Any]:
    """The non-tensor types an mmengine checkpoint carries, and nothing more."""
    import _codecs

    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    allowed = [HistoryBuffer, np.ndarray, np.dtype, _PICKLED_GETATTR]
    # Array reconstruction and numpy scalars are pickled through these functions.
    core = getattr(np, '_core', None) or np.core
    allowed += [core.multiarray._reconstruct, core.multiarray.scalar]
    # Protocol 2 pickles a numpy scalar's bytes through _codecs.encode, which torch allows
    # by default from 2.5 on (2.4 does not).
    allowed.append(_codecs.encode)
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

    Entries someone else had allow-listed before stay allow-listed after it. (torch's
    ``safe_globals`` context manager does the same from 2.5 on; 2.4 has only these calls.)
    """
    serialization = torch.serialization
    with _allow_list_lock:
        present = list(serialization.get_safe_globals())
        added = [entry for entry in mmengine_checkpoint_safe_globals() if entry not in present]
        serialization.add_safe_globals(added)
        try:
            yield
        finally:
            kept = [entry for entry in serialization.get_safe_globals() if entry not in added]
            serialization.clear_safe_globals()
            serialization.add_safe_globals(kept)


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
        message = str(exc)
        if isinstance(exc, _AttributeRefused):  # torch 2.4 passes it on as it is
            message = f'Weights only load failed. WeightsUnpickler error: {message}'
        if 'Weights only load failed' not in message:
            raise UnreadableCheckpointError(filename, exc) from exc
        found = re.search(r'Unsupported global: GLOBAL (\S+)', message)
        detail = re.search(r'WeightsUnpickler error:\s*(\S.*)', message)
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
