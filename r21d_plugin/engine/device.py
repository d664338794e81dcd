"""Where and in what precision the use side runs a network: the default device, the device
set-up (the CPU allocator setting), and the one autocast helper.

* ``default_device()``: ``'cuda:0'`` when torch sees a GPU, else ``'cpu'``, as MMAction2's
  tools default (the ``--device`` default of infer, extract-features, export and the API
  loaders).
* ``use_device(device)``: the ``torch.device`` a network is about to run on; on the CPU it
  first has glibc keep freed memory for reuse (``cpu_memory``, as train, test and the
  benchmark do; ``R21D_CPU_MALLOC=default`` opts out).
* ``autocast(device, amp)``: "run under autocast of this precision on this device", the one
  implementation of every ``--amp fp16|bf16`` (``None``: float32, no autocast).
"""
from contextlib import nullcontext
from typing import ContextManager, Optional, Union

import torch

from .cpu_memory import keep_freed_memory

#: ``--amp`` names -> autocast dtypes (the one spelling of every tool and API).
AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}

Precision = Union[None, str, torch.dtype]


class DeviceError(ValueError):
    """A device name torch does not know, or a device it does not see."""


def default_device() -> str:
    """``'cuda:0'`` where torch sees a GPU, else ``'cpu'``."""
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def use_device(device: Union[None, str, torch.device] = None) -> torch.device:
    """``device`` (default: ``default_device()``) as a ``torch.device``, checked; on the CPU,
    glibc keeps freed memory from here on (``cpu_memory.keep_freed_memory``).

    Raises:
        DeviceError: an unknown device name, or a CUDA device torch does not see.
    """
    try:
        device = torch.device(default_device() if device is None else device)
    except RuntimeError as error:  # torch's message for a malformed name
        raise DeviceError(f'device {device!r}: {error}') from None
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise DeviceError(f'device {device}: torch sees no CUDA device')
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f'device {device}: torch sees {torch.cuda.device_count()} '
                             'CUDA device(s)')
    elif device.type == 'cpu':
        keep_freed_memory()
    return device


def amp_dtype(amp: Precision) -> Optional[torch.dtype]:
    """The autocast dtype of an ``--amp`` name (or a dtype; None: no autocast).

    Raises:
        ValueError: a name other than those of ``AMP_DTYPES``.
    """
    if amp is None or isinstance(amp, torch.dtype):
        return amp
    if amp not in AMP_DTYPES:
        raise ValueError(f'amp must be one of {list(AMP_DTYPES)} or None, got {amp!r}')
    return AMP_DTYPES[amp]


def autocast(device: Union[str, torch.device], amp: Precision) -> ContextManager:
    """Run what the block computes under autocast in ``amp`` (``'bf16'``, ``'fp16'`` or a
    dtype) on ``device``'s type; ``None`` leaves float32 as it is."""
    dtype = amp_dtype(amp)
    if dtype is None:
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)
