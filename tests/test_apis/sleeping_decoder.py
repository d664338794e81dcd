"""Test decoder backends: one that hangs, one that hits transient OS errors. Kept out of
the test modules so decoding workers (forked or from a fork server) import them cheaply."""
import errno
import time

from r21d_plugin.apis.decoders import DECODERS, PyAVReader


class SleepingReader(PyAVReader):
    """Opens like PyAV, then hangs in every decode call, as a stuck decoder does."""

    name = 'sleeping'

    def _read(self, indices):
        while True:
            time.sleep(60)


class EMFILEReader(PyAVReader):
    """PyAV whose decode calls first fail ``failures`` times with EMFILE (too many open
    files), an error of the machine rather than of the video."""

    name = 'emfile'
    failures = 2

    def _read(self, indices):
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, 'Too many open files')
        return super()._read(indices)


for _reader in (SleepingReader, EMFILEReader):
    DECODERS.setdefault(_reader.name, _reader)
