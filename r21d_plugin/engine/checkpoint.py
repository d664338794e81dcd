"""Checkpoints that survive a kill, and resumes that continue the same run.

mmengine 0.10.7 writes a checkpoint in place (``open(path, 'wb')``), deletes the oldest kept
checkpoint *before* writing the new one, and rewrites ``last_checkpoint`` in place: a kill at
the wrong moment leaves a half-written file, or (``max_keep_ckpts=1``) no checkpoint at all
while ``last_checkpoint`` names a deleted one. Here:

* ``atomic_local`` is a file backend whose writes go to a temporary file in the same
  directory, are fsynced, then renamed over the target (``os.replace``), so a reader sees the
  old file or the new one, never a part;
* ``AtomicCheckpointHook`` is mmengine's ``CheckpointHook`` writing through that backend
  (for local ``out_dir``), updating ``last_checkpoint`` atomically, and pruning old
  checkpoints only after the new one is complete;
* a save that fails (a full disk: ``ENOSPC``, a quota, a lost mount) raises
  :class:`CheckpointSaveError` naming the file, the reason, the space left and the previous
  checkpoint, which is intact and still named by ``last_checkpoint``;
* ``EpochSeedHook`` reseeds Python, NumPy and torch at the start of every training epoch from
  (seed, epoch). mmengine does not store random states in checkpoints; with this hook the
  random state at the start of an epoch is the same whether the run got there directly or by
  resuming, so a resumed CPU run with a fixed seed ends with the same weights.
"""
import glob
import os
import os.path as osp
import shutil
import uuid
from typing import IO, Any, Callable, Optional, Tuple, Union

import numpy as np
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner.utils import set_random_seed

from mmaction.registry import HOOKS

#: Name of the file backend that writes atomically.
ATOMIC_BACKEND = 'atomic_local'
#: Suffix of the temporary files a write in progress leaves behind when killed.
PARTIAL_SUFFIX = '.partial'


def _fsync_directory(directory: str) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _discard(temporary: str) -> None:
    """Remove a temporary file; a failure here (ENOSPC, EIO, a lost mount) must not hide
    the error that made the write fail, so it is not raised."""
    try:
        os.unlink(temporary)
    except OSError:
        pass


def _write_all(file, data: bytes) -> None:
    file.write(data)


def _no_follow(name: str, flags: int) -> int:
    return os.open(name, flags | getattr(os, 'O_NOFOLLOW', 0), 0o666)


def _open_temporary(path: str, mode: str = 'wb', newline: Optional[str] = None
                    ) -> Tuple[IO, str]:
    """A new, empty temporary file beside ``path``, open for writing, and its name.

    The name is ``.<name>.<random>.partial<extension of path>`` (writers that pick a format
    by extension, such as ``cv2.imwrite``, see the final one), created with ``O_CREAT |
    O_EXCL | O_NOFOLLOW``: never a file or link that was there before.
    """
    directory, name = osp.split(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    extension = osp.splitext(name)[1]
    while True:
        temporary = osp.join(directory,
                             f'.{name}.{uuid.uuid4().hex[:12]}{PARTIAL_SUFFIX}{extension}')
        try:
            return open(temporary, mode.replace('w', 'x'), newline=newline,
                        opener=_no_follow), temporary
        except FileExistsError:
            continue


def _publish(temporary: str, path: str) -> None:
    """Rename the complete ``temporary`` over ``path`` and make the rename durable."""
    os.replace(temporary, path)
    _fsync_directory(osp.dirname(osp.abspath(path)))


class AtomicFile:
    """A file written under a temporary name beside ``path`` and renamed over it when
    complete (``commit``), so that a reader, or a kill at any moment, sees the old file
    or the new one, never a part; ``discard`` (or an error in a ``with`` block) leaves
    ``path`` as it was and no temporary file behind.

    Args:
        path (str | Path): the file to write.
        mode (str): ``'wb'`` or ``'w'`` (text, ``newline`` as ``open``'s). Default: 'wb'.
        newline (str, optional): as ``open``'s, for text. Default: None.
    """

    def __init__(self, path: Union[str, os.PathLike], mode: str = 'wb',
                 newline: Optional[str] = None) -> None:
        self.path = os.fspath(path)
        self.file, self.temporary = _open_temporary(self.path, mode, newline)

    def write(self, data: Union[bytes, str]) -> None:
        _write_all(self.file, data)

    def commit(self) -> None:
        """Flush and fsync the data, then rename the file over ``path``."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            _publish(self.temporary, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Drop what was written; ``path`` stays as it was."""
        try:
            self.file.close()
        except OSError:
            pass
        _discard(self.temporary)

    def __enter__(self) -> 'AtomicFile':
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def atomic_write(path: Union[str, os.PathLike], data: Union[bytes, str, Callable[[str], Any]]
                 ) -> None:
    """Write ``path`` so that a kill at any moment leaves the old file or the new: the one
    atomic write every tool uses (``AtomicFile``: an exclusive temporary name beside
    ``path``, fsync, ``os.replace``, directory fsync).

    Args:
        path (str | Path): the file to write.
        data: its bytes or text (UTF-8), or a writer called with the temporary file's name
            for libraries that write to a path (``torch.save``, ``onnx.save``,
            ``cv2.imwrite``: the name keeps ``path``'s extension).
    """
    if not callable(data):
        with AtomicFile(path) as file:
            file.write(data.encode() if isinstance(data, str) else data)
        return
    path = os.fspath(path)
    file, temporary = _open_temporary(path)
    file.close()
    try:
        data(temporary)
        fd = os.open(temporary, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _publish(temporary, path)
    except BaseException:
        _discard(temporary)
        raise


def remove_partial_writes(directory: str) -> list:
    """Delete the temporary files that writes killed midway left in ``directory``."""
    stale = [path for path in glob.glob(osp.join(glob.escape(directory), f'.*{PARTIAL_SUFFIX}*'))
             if osp.islink(path) or not osp.isdir(path)]
    for path in stale:
        os.unlink(path)
    return stale


class CheckpointSaveError(OSError):
    """A checkpoint could not be written; the previous one is intact."""


def _free_space(directory: str) -> str:
    try:
        return f'{shutil.disk_usage(directory).free / 2**30:.2f} GiB free there'
    except OSError:
        return 'free space unknown'


def save_failed(path: str, error: OSError, previous: Optional[str]) -> CheckpointSaveError:
    """The error to raise when writing checkpoint ``path`` failed with ``error``."""
    reason = error.strerror or str(error)
    where = _free_space(osp.dirname(path)) if '://' not in path else 'remote storage'
    kept = (f'the previous checkpoint {previous} is intact and `last_checkpoint` still names '
            f'it, so --resume continues from there' if previous else
            'no earlier checkpoint of this run was written')
    failure = CheckpointSaveError(
        f'Could not save checkpoint {path}: {reason} ({where}). Nothing partial was left '
        f'behind; {kept}. Free space (or lower max_keep_ckpts, or move out_dir) and resume')
    failure.errno = error.errno
    return failure


def previous_checkpoint(runner) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` of the work dir names, or None."""
    path = osp.join(runner.work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path) as file:
        return file.read().strip() or None


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put`` and ``put_text`` are atomic."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj.encode(encoding))


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's CheckpointHook made safe against a kill during a save.

    Takes every argument of ``CheckpointHook``. For a local ``out_dir`` without explicit
    ``backend_args`` it writes through the ``atomic_local`` backend; in every case it writes
    the new checkpoint and ``last_checkpoint`` first and only then deletes checkpoints beyond
    ``max_keep_ckpts``, so the previous checkpoint stays loadable until the new one is
    complete. Temporary files left by a killed save are removed when training starts.

    The best checkpoint (``save_best``) is still replaced the mmengine way: the old best is
    deleted before the new best is written. Resuming never depends on it.
    """

    def before_train(self, runner) -> None:
        out_dir = self.out_dir or runner.work_dir
        if self.backend_args is None and self.file_client_args is None and '://' not in out_dir:
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        super().before_train(runner)
        if is_main_process() and '://' not in self.out_dir and osp.isdir(self.out_dir):
            for path in remove_partial_writes(self.out_dir):
                runner.logger.warning(f'Removed {path}, left by a save that was interrupted')

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        expired: Optional[int] = None
        # _save_checkpoint and _save_best_checkpoint may both save at one step.
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                expired = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        path = self.file_backend.join_path(self.out_dir, filename)
        try:
            runner.save_checkpoint(
                self.out_dir, filename, self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        except OSError as error:
            raise save_failed(path, error, previous_checkpoint(runner)) from error
        self.last_ckpt = path
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        if not is_main_process():
            return
        atomic_write(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt.encode())
        if expired is not None:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(expired))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed saves directories
                self.file_backend.rmtree(path)


def epoch_seed(seed: int, epoch: int) -> int:
    """A 31-bit seed for ``epoch``, independent of the seeds ``seed + k`` workers get."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0] & 0x7FFFFFFF)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed Python, NumPy and torch before every training epoch from (runner seed, epoch).

    Makes the random state at the start of an epoch independent of how the run got there, so
    resuming from an epoch checkpoint replays the epoch exactly: random augmentations run in
    the main process (``num_workers=0``), dropout, and mmengine's replacement of skipped
    samples. DataLoader workers are reseeded by mmengine at every epoch already when they are
    not persistent; persistent workers keep their own random streams across epochs, which a
    resumed run restarts.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        set_random_seed(epoch_seed(runner.seed, runner.epoch))


__all__ = ['ATOMIC_BACKEND', 'AtomicLocalBackend', 'AtomicCheckpointHook', 'EpochSeedHook',
           'CheckpointSaveError', 'AtomicFile', 'atomic_write', 'remove_partial_writes', 'epoch_seed',
           'save_failed', 'previous_checkpoint']
