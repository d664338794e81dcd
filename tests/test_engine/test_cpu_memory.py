"""glibc keeps freed tensor memory for reuse: no page faults for a re-allocated activation."""
import os
import platform
import subprocess
import sys

import pytest
from mmengine.config import Config

from r21d_plugin.engine import cpu_memory, launch

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != 'glibc',
                                reason='the setting is glibc malloc specific')

# Allocates, fills and frees a 192 MiB tensor (the size of one R(2+1)D-18 activation of a
# batch of 4) five times, and prints the page faults of the last three (the heap settles
# within the first two: an aligned block may not fit the hole its predecessor left).
SECOND_ALLOCATION_FAULTS = '''
import resource, sys, torch
sys.path.insert(0, {root!r})
from r21d_plugin.engine.cpu_memory import keep_freed_memory
print(keep_freed_memory())
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(48 * 2**20).sum()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults(), faults()
print(faults() + faults() + faults())
'''


def _later_allocations(env_value: str) -> tuple:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, **{cpu_memory.OPT_OUT_VARIABLE: env_value})
    out = subprocess.run([sys.executable, '-c', SECOND_ALLOCATION_FAULTS.format(root=root)],
                         env=env, capture_output=True, text=True, check=True).stdout.split()
    return out[0] == 'True', int(out[1])


def test_freed_memory_is_reused_without_page_faults():
    applied, faults = _later_allocations('')
    assert applied
    assert faults < 100  # reused, not faulted in again


def test_opt_out_keeps_glibc_defaults():
    applied, faults = _later_allocations('default')
    assert not applied
    # Each block was unmapped on free and faults in again: 3 x 49152 pages of 4 KiB, or at
    # least 3 x 96 where the kernel backs it with 2 MiB transparent huge pages.
    assert faults > 250


def test_cpu_launch_applies_it(monkeypatch):
    calls = []
    monkeypatch.setattr(launch, 'keep_freed_memory', lambda: calls.append(1))
    monkeypatch.setattr(launch.torch.cuda, 'is_available', lambda: False)
    launch.prepare_launch(Config(dict(launcher='none')))
    assert calls == [1]
