"""The preemption-keeping torchrun: which processes it signals. (The launch end to end:
tests/test_tools/test_train_test.py, two CPU processes preempted.)"""
import os
import signal
import subprocess

from r21d_plugin.engine.torchrun import (FORWARDED_SIGNALS, _keeping_forwarded_handlers,
                                         child_processes)


def test_child_processes_are_this_process_children_only():
    child = subprocess.Popen(['sleep', '30'])
    try:
        assert child.pid in child_processes(os.getpid())
        assert os.getpid() not in child_processes(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert child.pid not in child_processes(os.getpid())


def test_a_torchrun_without_signals_to_handle_keeps_the_forwarded_handlers():
    # torch 2.4's torchrun installs its handler for SIGTERM, SIGINT, SIGHUP and SIGQUIT when
    # it starts the workers: SIGTERM and SIGUSR1 must stay the launcher's, SIGINT torchrun's.
    def launcher_handler(signum, frame):
        pass

    def torchrun_handler(signum, frame):
        pass

    before = {signum: signal.getsignal(signum) for signum in (*FORWARDED_SIGNALS, signal.SIGINT)}
    try:
        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, launcher_handler)
        with _keeping_forwarded_handlers():
            for signum in (*FORWARDED_SIGNALS, signal.SIGINT):
                signal.signal(signum, torchrun_handler)
        assert [signal.getsignal(signum) for signum in FORWARDED_SIGNALS] == \
            [launcher_handler, launcher_handler]
        assert signal.getsignal(signal.SIGINT) is torchrun_handler
        signal.signal(signal.SIGTERM, torchrun_handler)  # signal.signal is itself again
        assert signal.getsignal(signal.SIGTERM) is torchrun_handler
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
