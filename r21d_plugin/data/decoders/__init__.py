"""One decoder interface for every video the use side and the data tools read outside
MMAction2's pipelines: decord, PyAV and torchcodec behind ``FrameReader``.

``open_reader(path, decoder='auto')`` opens a file with the backend named (``--decoder`` in
every tool). The backends return the same frames for the same index (tested bit-exact: all
three run FFmpeg's decoders and its RGB conversion), count frames the same way (the
stream's packets) and raise the same ``VideoReadError`` reasons (``base``).

``auto`` takes the first backend whose library imports, in ``AUTO_ORDER``:

1. ``torchcodec``: PyTorch's maintained decoder; it is never a dependency, so if it imports,
   it was installed on purpose (with FFmpeg's shared libraries); its CUDA builds also
   decode on the GPU (``torchcodec-cuda``, never chosen by ``auto``).
2. ``pyav``: maintained, FFmpeg bundled in its wheels for x86-64 and aarch64; a dependency
   of the plugin, so ``auto`` always finds one.
3. ``decord``: what MMAction2's ``DecordInit`` uses, unmaintained since 2021 and x86-64
   only; last, kept to decode with the same library as such training configs.
"""
from typing import Dict, List, Optional, Type, Union

from .base import (DecodeTimeout, FrameReader, TransientDecodeError, VideoReadError,
                   call_with_timeout, retry_transient, transient_errno)
from .decord_reader import DecordReader
from .pyav_reader import PyAVReader
from .torchcodec_reader import TorchCodecCudaReader, TorchCodecReader

#: Backends by ``--decoder`` name.
DECODERS: Dict[str, Type[FrameReader]] = {
    reader.name: reader
    for reader in (TorchCodecReader, PyAVReader, DecordReader, TorchCodecCudaReader)}
#: What ``auto`` tries, in order (the module docstring says why).
AUTO_ORDER = ('torchcodec', 'pyav', 'decord')
#: The choices of ``--decoder``.
DECODER_CHOICES = ('auto', ) + tuple(DECODERS)
#: Seconds a decoder call may take before the video is given up as hung (``--decode-timeout``).
DEFAULT_DECODE_TIMEOUT = 600.0

Decoder = Union[str, Type[FrameReader]]


class DecoderUnavailableError(ValueError):
    """A ``--decoder`` that is unknown or not installed; the message lists what is."""


def register_decoder(reader: Type[FrameReader]) -> Type[FrameReader]:
    """Add a backend under ``reader.name`` (usable as a class decorator)."""
    DECODERS[reader.name] = reader
    return reader


def available_decoders() -> List[str]:
    """The names of the backends whose libraries import here."""
    return [name for name, reader in DECODERS.items() if reader.available()]


def resolve_decoder(decoder: Decoder = 'auto') -> Type[FrameReader]:
    """The backend class of a name (or ``auto``); a class is returned as it is."""
    if not isinstance(decoder, str):
        return decoder
    if decoder == 'auto':
        for name in AUTO_ORDER:
            if DECODERS[name].available():
                return DECODERS[name]
        raise DecoderUnavailableError(
            'no video decoder is installed: pip install av (or torchcodec, or decord)')
    if decoder not in DECODERS:
        raise DecoderUnavailableError(f'--decoder {decoder}: unknown; choose one of '
                                      f'{", ".join(DECODER_CHOICES)}')
    reader = DECODERS[decoder]
    if not reader.available():
        if reader is TorchCodecCudaReader and TorchCodecReader.available():
            reason = 'torch sees no CUDA device here'
        else:
            hint = ('torchcodec needs FFmpeg\'s shared libraries (e.g. apt-get install ffmpeg) '
                    'and the release paired with your torch'
                    if reader.module.startswith('torchcodec') else f'pip install {reader.module}')
            reason = f'{reader.module} does not import here ({hint})'
        raise DecoderUnavailableError(
            f'--decoder {decoder}: {reason}; installed: '
            f'{", ".join(available_decoders()) or "none"}')
    return reader


def open_reader(path: str, decoder: Decoder = 'auto',
                timeout: Optional[float] = None) -> FrameReader:
    """Open ``path`` with ``decoder``; every call on it gives up after ``timeout`` seconds.

    Raises:
        VideoReadError: the file is missing, empty or not a readable video.
        DecodeTimeout: opening it hung.
        TransientDecodeError: an error of the machine (``base.TRANSIENT_ERRNOS``) persisted.
        DecoderUnavailableError: the decoder is unknown or not installed.
    """
    return resolve_decoder(decoder)(path, timeout)


__all__ = ['AUTO_ORDER', 'DECODERS', 'DECODER_CHOICES', 'DEFAULT_DECODE_TIMEOUT',
           'DecodeTimeout', 'DecoderUnavailableError', 'FrameReader', 'TransientDecodeError',
           'VideoReadError', 'available_decoders', 'call_with_timeout',
           'open_reader', 'register_decoder', 'resolve_decoder', 'retry_transient',
           'transient_errno']
