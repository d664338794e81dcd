"""Preemption-safe training: on SIGTERM or SIGUSR1, finish the step, save, exit with 75.

Slurm preempts a job (or reaches its time limit) by sending SIGTERM, or the signal chosen
with ``--signal``, and kills it ``KillWait`` (or the chosen) seconds later. ``PreemptionHook``
turns that signal into a checkpoint instead of lost work:

* the handler only records the signal; the current training (or validation) iteration
  finishes, and at its end every rank agrees (one all-reduce per iteration in distributed
  runs, so that all ranks stop at the same iteration);
* rank 0 writes ``preempted.pth`` atomically beside the regular checkpoints, with the model,
  optimizer, schedulers, message hub, the position in the epoch and every rank's random
  states, and points ``last_checkpoint`` at it; then every process exits with status
  :data:`PREEMPTED_EXIT_STATUS` (75, ``EX_TEMPFAIL``: "try again"), which a job script can
  tell from success (0) and from a crash (1);
* ``--resume`` continues from it: the interrupted epoch restarts at the batch after the last
  one trained, without loading the batches before it (the sampler's order is replayed and
  their indices dropped), and the random states saved at the interruption are restored
  just before the first batch left is loaded. With ``num_workers=0`` (augmentation in the
  main process) and a fixed seed the resumed run ends with the uninterrupted run's weights
  exactly; with DataLoader workers the resumed epoch's augmentations are drawn anew
  (workers keep their random streams in their own processes);
* ``preempted.pth`` is deleted once a later regular checkpoint supersedes it.

A validation interrupted by preemption is not rerun (the epoch's checkpoint was written before
it; its metrics are lost). The hook acts during ``runner.train()`` only.
"""
import itertools
import os.path as osp
import random
import signal
import threading
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import (all_gather_object, barrier, get_rank, get_world_size,
                           is_main_process)
from mmengine.fileio import get_file_backend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import BatchSampler

from mmaction.registry import HOOKS
from .checkpoint import ATOMIC_BACKEND, atomic_write, previous_checkpoint, save_failed
from .launch import any_rank

#: Exit status of a run stopped by preemption after saving (sysexits.h EX_TEMPFAIL).
PREEMPTED_EXIT_STATUS = 75
#: File name of the checkpoint written on preemption.
PREEMPTED_CHECKPOINT = 'preempted.pth'


def random_states() -> dict:
    """Python's, NumPy's and torch's global random states, in types a safe load accepts."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    states = dict(python=random.getstate(),
                  numpy=(name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss,
                         cached),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict) -> None:
    """Restore what :func:`random_states` returned."""
    random.setstate(states['python'])
    name, keys, position, has_gauss, cached = states['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


class _ResumeInEpoch:
    """A sampler that drops the indices of an interrupted epoch's trained batches.

    It iterates the wrapped sampler (same epoch, same order), drops the first ``skip``
    indices without loading them, and restores the random states saved at the interruption
    right before the first index left is handed out, i.e. before its sample is loaded.
    """

    def __init__(self, sampler, skip: int, states: dict) -> None:
        self.sampler, self.skip, self.states = sampler, skip, states

    def __iter__(self) -> Iterator[int]:
        indices = iter(self.sampler)
        for _ in itertools.islice(indices, self.skip):
            pass
        set_random_states(self.states)
        yield from indices

    def __len__(self) -> int:
        return len(self.sampler)


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save a resumable checkpoint and exit with status 75 on a preemption signal.

    On any of ``signals`` the current iteration finishes, rank 0 writes ``preempted.pth``
    (atomically, where the checkpoint hook writes) and ``last_checkpoint``, and every rank
    exits with :data:`PREEMPTED_EXIT_STATUS`; ``--resume`` continues mid-epoch.

    Args:
        signals (Sequence[str]): Names of the signals that mean "preempted". Slurm sends
            SIGTERM on preemption and at the time limit, and the signal of
            ``#SBATCH --signal=USR1@120`` that many seconds before. Default:
            ('SIGTERM', 'SIGUSR1').
        exit_status (int): Status the processes exit with after saving.
            Default: PREEMPTED_EXIT_STATUS (75).
    """

    # After every other hook of an iteration (the LR scheduler's step, logging, a by-iter
    # checkpoint), so the saved state is that of a completed iteration.
    priority = 'LOWEST'

    def __init__(self, signals: Sequence[str] = ('SIGTERM', 'SIGUSR1'),
                 exit_status: int = PREEMPTED_EXIT_STATUS) -> None:
        unknown = [name for name in signals if not hasattr(signal, name)]
        if unknown:
            raise ValueError(f'PreemptionHook: unknown signal(s) {unknown}; use names such '
                             'as SIGTERM, SIGUSR1, SIGUSR2')
        self.signals = tuple(signals)
        self.exit_status = exit_status
        self.received: Optional[str] = None
        self._installed = {}
        self._loaded_meta: Optional[dict] = None
        self._resume_at: Optional[dict] = None
        self._patched = None

    # -------------------------------------------------------------------- signals

    def _on_signal(self, signum, frame) -> None:
        # Only recorded here: the iteration in progress finishes and the hook acts after it.
        self.received = signal.Signals(signum).name

    def before_train(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning('PreemptionHook: training runs outside the main thread, '
                                  'where signal handlers cannot be installed; preemption '
                                  'signals keep their default action')
        else:
            for name in self.signals:
                number = getattr(signal, name)
                self._installed[number] = signal.signal(number, self._on_signal)
        meta = self._loaded_meta or {}
        position = meta.get('preempted') or {}
        # Resumed (not just loaded) from a checkpoint taken inside an epoch: skip into it.
        if position.get('batches_done') and (runner.epoch, runner.iter) == (meta['epoch'],
                                                                             meta['iter']):
            self._resume_at = dict(position, epoch=meta['epoch'])

    def after_train(self, runner) -> None:
        for number, handler in self._installed.items():
            signal.signal(number, handler)
        self._installed = {}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded_meta = checkpoint.get('meta')

    # ------------------------------------------------------------- preemption

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._installed and any_rank(self.received is not None):
            self._save_and_exit(runner, epoch=runner.epoch, iteration=runner.iter + 1,
                                batches_done=batch_idx + 1)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        # Validation runs after an epoch (the train loop counts it done already).
        if self._installed and any_rank(self.received is not None):
            self._save_and_exit(runner, epoch=runner.epoch, iteration=runner.iter,
                                batches_done=0)

    def _save_and_exit(self, runner, epoch: int, iteration: int, batches_done: int) -> None:
        checkpoint_hook = next((hook for hook in runner.hooks
                                if isinstance(hook, CheckpointHook)), None)
        out_dir = (checkpoint_hook.out_dir if checkpoint_hook is not None
                   and checkpoint_hook.out_dir else runner.work_dir)
        backend_args = checkpoint_hook.backend_args if checkpoint_hook is not None else None
        if backend_args is None and '://' not in out_dir:
            backend_args = dict(backend=ATOMIC_BACKEND)
        path = get_file_backend(out_dir, backend_args=backend_args).join_path(
            out_dir, PREEMPTED_CHECKPOINT)
        position = dict(signal=self.received or 'a signal on another rank',
                        batches_done=batches_done,
                        random_states=all_gather_object(random_states()))
        meta = dict(epoch=epoch, iter=iteration, preempted=position)
        try:
            runner.save_checkpoint(out_dir, PREEMPTED_CHECKPOINT, meta=meta,
                                   backend_args=backend_args)
        except OSError as error:
            raise save_failed(path, error, previous_checkpoint(runner)) from error
        if is_main_process():
            atomic_write(osp.join(runner.work_dir, 'last_checkpoint'), path.encode())
        barrier()  # no rank exits (and gets its peers killed) before the save is complete
        runner.logger.warning(
            f'{position["signal"]} received: saved {path} after epoch {epoch + 1} batch '
            f'{batches_done} (iteration {iteration}); continue with --resume. Exiting with '
            f'status {self.exit_status}')
        raise SystemExit(self.exit_status)

    # ------------------------------------------------------------------ resume

    def before_train_epoch(self, runner) -> None:
        resume_at = self._resume_at
        if resume_at is None or runner.epoch != resume_at['epoch']:
            return
        self._resume_at = None
        skip = resume_at['batches_done']
        loop = runner.train_loop
        batch_sampler = getattr(loop.dataloader, 'batch_sampler', None)
        if not (isinstance(loop, EpochBasedTrainLoop) and isinstance(batch_sampler,
                                                                     BatchSampler)):
            if isinstance(loop, EpochBasedTrainLoop):
                runner.logger.warning(
                    f'PreemptionHook: cannot skip the {skip} batches trained before the '
                    f'interruption with batch sampler {type(batch_sampler).__name__}; the '
                    'epoch restarts from its first batch')
            return  # (an iteration-based loop skips them itself)
        runner.logger.info(
            f'Resuming epoch {runner.epoch + 1} interrupted by {resume_at["signal"]} after '
            f'batch {skip}/{len(loop.dataloader)}: its first {skip} batches are skipped '
            'without being loaded')
        states = resume_at['random_states']  # one per rank of the interrupted run
        if len(states) != get_world_size():
            runner.logger.warning(
                f'PreemptionHook: the interrupted run had {len(states)} processes, this one '
                f'{get_world_size()}; random states are restored from its rank 0 only')
        original = batch_sampler.sampler
        batch_sampler.sampler = _ResumeInEpoch(
            original, skip * batch_sampler.batch_size,
            states[get_rank()] if len(states) == get_world_size() else states[0])
        run_iter = loop.run_iter
        loop.run_iter = lambda idx, data_batch: run_iter(idx + skip, data_batch)
        self._patched = (batch_sampler, original, loop)

    def after_train_epoch(self, runner) -> None:
        if self._patched is not None:
            batch_sampler, original, loop = self._patched
            batch_sampler.sampler = original
            del loop.run_iter
            self._patched = None
        if is_main_process():
            self._remove_superseded(runner)

    @staticmethod
    def _remove_superseded(runner) -> None:
        """Delete preempted.pth once ``last_checkpoint`` names a later checkpoint."""
        latest = previous_checkpoint(runner)
        if latest is None or osp.basename(latest) == PREEMPTED_CHECKPOINT:
            return
        stale = osp.join(osp.dirname(latest), PREEMPTED_CHECKPOINT)
        backend = get_file_backend(stale)
        if backend.isfile(stale):
            backend.remove(stale)


__all__ = ['PreemptionHook', 'PREEMPTED_EXIT_STATUS', 'PREEMPTED_CHECKPOINT',
           'random_states', 'set_random_states']
