"""Keep freed CPU tensor memory in the process instead of returning it to the system.

glibc's malloc serves every block over 32 MiB with its own ``mmap`` and unmaps it on free.
A video network's activations are far larger (one 64 x 16 x 56 x 56 map of a batch of 4 is
196 MiB), so on CPU each new activation faults its pages in again from the kernel: on the
2-core Xeon we measure on, that is about 40% of a float32 R(2+1)D-18 inference and 25% of a
training step, for every model in the process alike. Telling malloc to take large blocks
from its heap and never trim it lets freed activations be reused, as PyTorch's CUDA caching
allocator does on GPUs; the price is that the process keeps its peak memory until it exits.

Our tools switch this on wherever they run a network on the CPU: train, test and demo at
launch (``launch.prepare_launch``), the benchmark, and infer, extract-features, export and
the API's loaders through ``device.use_device`` (``apis.loading.load_model``); set
``R21D_CPU_MALLOC=default`` to keep glibc's defaults. Elsewhere (other allocators, other C
libraries) it does nothing.
"""
import ctypes
import ctypes.util
import os
import platform

#: ``mallopt`` parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
#: Environment variable that opts out (value ``default``).
OPT_OUT_VARIABLE = 'R21D_CPU_MALLOC'

_applied = False


def _glibc() -> 'ctypes.CDLL | None':
    if platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc':
        return None
    name = ctypes.util.find_library('c')
    return ctypes.CDLL(name) if name else None


def keeps_freed_memory() -> bool:
    """Whether ``keep_freed_memory`` is in effect in this process."""
    return _applied


def keep_freed_memory() -> bool:
    """Make glibc malloc reuse freed large blocks (no ``mmap`` per block, no heap trimming).

    Idempotent. Returns whether the setting is in effect: False off glibc, or when
    ``R21D_CPU_MALLOC=default`` asks for glibc's defaults.
    """
    global _applied
    if _applied:
        return True
    if os.environ.get(OPT_OUT_VARIABLE, '').lower() == 'default':
        return False
    libc = _glibc()
    if libc is None:
        return False
    # mallopt returns 1 on success; heap blocks stay within the heap, top pad 256 MiB
    # grows the heap in fewer, larger steps.
    _applied = all(libc.mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 2**28)))
    return _applied
