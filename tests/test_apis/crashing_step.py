"""A pipeline step that kills its process on a white clip, as a decoder crashing in native
code would. Loading workers unpickle it by importing this module, so it is kept apart from
the test modules (and helpers.py), whose imports would cost each worker seconds."""
import os
import signal

import numpy as np


class CrashOnWhiteFrames:

    def __call__(self, results: dict) -> dict:
        if np.mean(results['imgs'][0]) > 200:
            os.kill(os.getpid(), signal.SIGSEGV)
        return results


class CrashOnItem:
    """``prepare`` for ``video_workers``: kills its process on ``crash`` (as a decoder
    crashing in native code), raises on ``fail``, else returns the item squared; each call
    leaves a line in ``log`` (how many items were prepared so far)."""

    def __init__(self, log: str, crash: int = -1, fail: int = -1) -> None:
        self.log, self.crash, self.fail = log, crash, fail

    def __call__(self, item: int) -> int:
        with open(self.log, 'a') as file:
            file.write(f'{item}\n')
        if item == self.crash:
            os.kill(os.getpid(), signal.SIGSEGV)
        if item == self.fail:
            raise ValueError(f'item {item} is bad')
        return item * item


def exit_at_start(worker_id: int) -> None:
    """A loading worker's start that exits, as one re-importing a script without a main
    guard does."""
    os._exit(1)
