"""The one restricted unpickler: data in plain containers loads, code does not.

A pickle can name any importable callable, so ``pickle.load`` of a file a user hands us (a
downloaded VMZ ``.pkl``, a test dump someone shared) can run a shell command. ``load_pickle``
resolves only the callables that rebuild data: Python's plain containers and scalars, numpy
arrays, dtypes and scalars, and torch tensors (their storages through ``torch.load`` with
``weights_only=True``). Any other global is refused with ``RefusedGlobal`` before it is
called.
"""
import codecs
import io
import pickle
from collections import OrderedDict
from typing import Any, Dict, Tuple

import numpy as np
import torch


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle names a callable outside the allow-list."""


def _tensor_storage_from_bytes(data: bytes) -> Any:
    """``torch.storage._load_from_bytes`` without its full unpickling (it passes
    ``weights_only=False``): the bytes hold one storage, which the safe loader reads."""
    return torch.load(io.BytesIO(data), weights_only=True)


def _allowed_globals() -> Dict[Tuple[str, str], Any]:
    """The only callables a data pickle may name."""
    core = getattr(np, '_core', None) or np.core
    allowed: Dict[Tuple[str, str], Any] = {
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        # Python 3 writes bytes through _codecs.encode at protocol 2.
        ('_codecs', 'encode'): codecs.encode,
        ('collections', 'OrderedDict'): OrderedDict,
        # Tensors pickled by plain pickle (mmengine's DumpResults).
        ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
        ('torch.storage', '_load_from_bytes'): _tensor_storage_from_bytes,
    }
    # Protocol 2 names builtins as __builtin__ in Python 2 pickles.
    for module in ('builtins', '__builtin__'):
        for kind in (set, frozenset, complex, bytearray, slice, range):
            allowed[(module, kind.__name__)] = kind
    # Python 2 / numpy 1 pickles name numpy.core; numpy 2 writes numpy._core.
    for module in ('numpy.core', 'numpy._core'):
        allowed[(f'{module}.multiarray', '_reconstruct')] = core.multiarray._reconstruct
        allowed[(f'{module}.multiarray', 'scalar')] = core.multiarray.scalar
        allowed[(f'{module}.numeric', '_frombuffer')] = core.numeric._frombuffer
    # numpy >= 1.25 pickles dtypes by their concrete class at protocol >= 3.
    if getattr(np, 'dtypes', None) is not None:
        for name in dir(np.dtypes):
            if name.endswith('DType'):
                allowed[('numpy.dtypes', name)] = getattr(np.dtypes, name)
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles data (see the module docstring) and refuses every other global.

    Args:
        file: the open binary file.
        path (str): its name, for the messages.
        holds (str): what the file should hold, for the refusal's message (e.g. 'a VMZ
            Caffe2 .pkl holds only numpy arrays in plain dicts').
    """

    def __init__(self, file: io.BufferedIOBase, path: str, holds: str) -> None:
        # Python 2 str (arrays' raw bytes) decodes losslessly as latin1.
        super().__init__(file, encoding='latin1')
        self.path = path
        self.holds = holds
        self.allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        raise RefusedGlobal(
            f'{self.path}: refusing to load global {module}.{name}: {self.holds}, and '
            f'unpickling anything else could run code')


def load_pickle(path: str, holds: str) -> Any:
    """The content of the pickle file ``path``, through ``RestrictedUnpickler``.

    Raises:
        RefusedGlobal: the file names a callable outside the allow-list (nothing was run).
        OSError, pickle.UnpicklingError, EOFError, ...: as ``pickle.load`` on a file that is
            missing, truncated or not a pickle.
    """
    with open(path, 'rb') as file:
        return RestrictedUnpickler(file, path, holds).load()
