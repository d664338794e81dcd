"""Test decoder backends: one that hangs, one that hits transient OS errors. Kept out of
the test modules so decoding workers (forked or from a fork server) import them cheaply."""
import errno
import os.path as osp
import time

from r21d_plugin.data.decoders import DECODERS, PyAVReader


class SleepingReader(PyAVReader):
    """PyAV, except that decoding a file whose name starts with ``hang`` never returns, as a
    stuck decoder does."""

    name = 'sleeping'

    def _read(self, indices):
        while osp.basename(self.path).startswith('hang'):
            time.sleep(60)
        return super()._read(indices)


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


class StuckEMFILEReader(EMFILEReader):
    """PyAV whose decode calls always fail with EMFILE."""

    name = 'emfile-always'
    failures = 10**9


for _reader in (SleepingReader, EMFILEReader, StuckEMFILEReader):
    DECODERS.setdefault(_reader.name, _reader)
