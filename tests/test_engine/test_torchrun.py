"""The preemption-keeping torchrun: which processes it signals. (The launch end to end:
tests/test_tools/test_train_test.py, two CPU processes preempted.)"""
import os
import subprocess

from r21d_plugin.engine.torchrun import child_processes


def test_child_processes_are_this_process_children_only():
    child = subprocess.Popen(['sleep', '30'])
    try:
        assert child.pid in child_processes(os.getpid())
        assert os.getpid() not in child_processes(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert child.pid not in child_processes(os.getpid())
