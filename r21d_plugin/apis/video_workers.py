"""Videos prepared in DataLoader workers, in parallel, handed back in input order.

``prepared_in_order(items, prepare, workers)`` runs ``prepare(item)`` (decoding a video and
preparing its clips) for every item in ``workers`` loading processes, started as feature
extraction starts its own (``features.decoding``: a fork server, OpenCV single-threaded,
decoder logs silenced), while this process runs the network on what they hand back:

* **input order**: results come back in the order of ``items``, whatever the workers'
  speeds;
* **bounded memory**: at most ``PREFETCH`` prepared items per worker wait ahead
  (DataLoader's ``prefetch_factor``), however many items there are;
* **one bad item costs only itself**: an exception in ``prepare`` is that item's error
  (a ``VideoReadError``'s reason, or the exception's one-line summary); a worker that dies
  (a decoder crashing in native code) fails no item by itself: the items in flight are
  retried one at a time in a worker of their own (a crash there is that item's error) and
  the others go on in a new pool;
* **an error of the machine stops the run**: a ``TransientDecodeError`` (no file handles,
  memory or storage left, after the decoder's retries) is raised here, from a worker too,
  rather than fail every item after it.

``workers=0`` prepares every item in this process, one after the other (a native crash then
ends the run).
"""
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, TypeVar

from torch.utils.data import DataLoader, Dataset

from ..data.decoders import TransientDecodeError
from ..data.prep.isolated_pool import crash_reason
from ..data.samples import exception_summary
from .features.decoding import dead_workers, init_loading_worker, loading_context
from .video import VideoReadError

#: Prepared items each worker may hold ahead of the one this process waits for.
PREFETCH = 2

Item = TypeVar('Item')
Outcome = Tuple[int, Optional[object], Optional[str]]


class _Prepared(Dataset):
    """``(index, prepare(items[index]), None)``, or ``(index, None, reason)`` for an item
    that cannot be prepared, or ``(index, None, error)`` for a ``TransientDecodeError``
    (raised by ``prepared_in_order`` in this process)."""

    def __init__(self, items: Sequence, prepare: Callable) -> None:
        self.items, self.prepare = list(items), prepare

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Outcome:
        try:
            return index, self.prepare(self.items[index]), None
        except VideoReadError as error:
            return index, None, error.reason
        except TransientDecodeError as error:  # pickled whole: the main process raises it
            return index, None, error
        except Exception as error:  # a bad video fails alone; the message names the error
            return index, None, exception_summary(error)


def _as_is(outcome: Outcome) -> Outcome:
    """No collation: numpy arrays and data samples stay what ``prepare`` made."""
    return outcome


class _Subset(Dataset):
    def __init__(self, dataset: _Prepared, indices: List[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> Outcome:
        return self.dataset[self.indices[position]]


def _pass(dataset: _Prepared, indices: List[int], workers: int,
          delivered: List[int]) -> Iterator[Outcome]:
    """The outcomes of ``indices`` in order; ``delivered`` counts those yielded. A worker
    that dies raises ``_WorkerDied`` (with its reason)."""
    loader = DataLoader(_Subset(dataset, indices), batch_size=None, collate_fn=_as_is,
                        num_workers=workers, multiprocessing_context=loading_context(),
                        worker_init_fn=init_loading_worker, prefetch_factor=PREFETCH)
    outcomes = iter(loader)
    try:
        for outcome in outcomes:
            delivered[0] += 1
            yield outcome
    except (RuntimeError, ConnectionError, EOFError) as error:
        # torch reports a dead worker as a RuntimeError; one that died while this process
        # fetched an item it had shared breaks that connection instead.
        if isinstance(error, RuntimeError) and not str(error).startswith('DataLoader worker'):
            raise
        died = dead_workers(outcomes)
        code = next(iter(died.values()), None)
        raise _WorkerDied(crash_reason(code) if died
                          else f'the decoding process died ({error})',
                          signalled=code is not None and code < 0) from None


class _WorkerDied(Exception):

    def __init__(self, reason: str, signalled: bool) -> None:
        super().__init__(reason)
        self.reason, self.signalled = reason, signalled


def prepared_in_order(items: Sequence[Item], prepare: Callable[[Item], object],
                      workers: int) -> Iterator[Outcome]:
    """Yield ``(index, result, error)`` for ``prepare(items[index])``, in input order
    (module docstring). ``prepare`` must be picklable (it goes to the workers): hold
    pipelines and settings, not the model.

    Raises:
        TransientDecodeError: an error of the machine while preparing an item.
    """
    if workers < 0:
        raise ValueError(f'workers must be 0 or more, got {workers}')
    outcomes = _outcomes(items, prepare, workers)
    try:
        for outcome in outcomes:
            if isinstance(outcome[2], TransientDecodeError):
                raise outcome[2]
            yield outcome
    finally:
        outcomes.close()  # the workers stop now, not when collected


def _outcomes(items: Sequence[Item], prepare: Callable[[Item], object],
              workers: int) -> Iterator[Outcome]:
    dataset = _Prepared(items, prepare)
    if workers == 0:
        yield from (dataset[index] for index in range(len(dataset)))
        return
    todo, prepared = list(range(len(dataset))), 0
    while todo:
        delivered = [0]
        try:
            yield from _pass(dataset, todo, min(workers, len(todo)), delivered)
            return
        except _WorkerDied:
            start = delivered[0]
            prepared += start
            in_flight = todo[start:start + workers * PREFETCH]
            todo = todo[start + len(in_flight):]
        retried, exits = [], []  # at most workers * PREFETCH items, as in the pool
        for index in in_flight:  # each alone: a crash there is that item's
            alone = [0]
            try:
                retried += list(_pass(dataset, [index], 1, alone))
            except _WorkerDied as crash:
                retried.append((index, None, crash.reason))
                exits += [] if crash.signalled else [crash.reason]
            prepared += alone[0]
        if not prepared and len(exits) == len(in_flight):
            # No worker ever got through one item, and none was killed by a signal (a
            # decoder's crash): the workers cannot start, whatever the items.
            raise RuntimeError(f'the loading workers exit before preparing anything '
                               f'({exits[0]}); a script that uses workers needs '
                               "if __name__ == '__main__':")
        yield from retried
