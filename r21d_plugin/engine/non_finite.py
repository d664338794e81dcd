"""Stop on a NaN or infinite training loss before it reaches the weights.

A diverging run (a learning rate too high for the batch size, bad input values, an fp16
overflow) produces a NaN or infinite loss; its backward pass and optimizer step turn every
weight into NaN, and the next checkpoint saves them. ``NonFiniteLossHook`` checks the loss
before the backward pass (wrapping the optimizer wrapper's ``update_params``, which every
mmengine model's ``train_step`` calls), so such a loss never touches the weights:

* ``action='stop'`` (default): raise :class:`NonFiniteLossError` naming the epoch, the
  iteration, the batch and the loss; nothing is saved, so the last checkpoint is the last
  good state;
* ``action='skip'`` (opt-in): drop that batch (no backward, no step), log it, count it
  (the count is kept in the message hub, so it survives ``--resume``), and stop once more
  than ``max_skipped`` batches were dropped.

In distributed runs the ranks agree first (one all-reduce per iteration): a NaN on one rank
stops (or skips on) every rank, so none waits forever for a gradient all-reduce. With
gradient accumulation a skipped batch is simply not accumulated.
"""
from typing import Optional

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper

from mmaction.registry import HOOKS
from .launch import any_rank

#: Message hub key of the number of batches dropped for a non-finite loss.
SKIPPED_KEY = 'non_finite_losses_skipped'


class NonFiniteLossError(FloatingPointError):
    """The training loss was NaN or infinite; the weights were not updated with it."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Check every training loss before its backward pass: stop (or skip) on NaN or inf.

    Args:
        action (str): ``'stop'`` raises NonFiniteLossError; ``'skip'`` drops the batch
            (no backward, no optimizer step) and counts it. Default: 'stop'.
        max_skipped (int): With ``'skip'``, stop once more than this many batches of the
            run were dropped. Default: 10.
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'stop', max_skipped: int = 10) -> None:
        if action not in ('stop', 'skip'):
            raise ValueError(f"NonFiniteLossHook: action must be 'stop' or 'skip', got "
                             f'{action!r}')
        self.action = action
        self.max_skipped = max_skipped
        self._wrapper: Optional[OptimWrapper] = None
        self._batch = (0, 0)  # (index, batches in the epoch) of the iteration in progress

    def before_train(self, runner) -> None:
        wrapper = runner.optim_wrapper
        if not isinstance(wrapper, OptimWrapper):
            runner.logger.warning(
                f'NonFiniteLossHook: {type(wrapper).__name__} has no single update_params; '
                'losses are not checked')
            return
        update_params = wrapper.update_params

        def checked_update_params(loss: torch.Tensor, *args, **kwargs):
            finite = bool(torch.isfinite(loss.detach()).all())
            if not any_rank(not finite):
                return update_params(loss, *args, **kwargs)
            self._non_finite(runner, loss if not finite else None)

        wrapper.update_params = checked_update_params
        self._wrapper = wrapper

    def after_train(self, runner) -> None:
        if self._wrapper is not None:
            del self._wrapper.update_params
            self._wrapper = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._batch = (batch_idx, len(runner.train_dataloader))

    def _non_finite(self, runner, loss: Optional[torch.Tensor]) -> None:
        index, total = self._batch
        value = (f'loss {loss.detach().float().mean().item()}' if loss is not None
                 else f'a non-finite loss on another rank (rank {get_rank()}: finite)')
        where = (f'epoch {runner.epoch + 1}, iteration {runner.iter + 1} (batch '
                 f'{index + 1}/{total} of the epoch)')
        last = runner.message_hub.get_info('last_ckpt')
        kept = (f'the last checkpoint, {last}, holds the last good state' if last
                else 'no checkpoint of this run was written yet')
        if self.action == 'skip':
            skipped = runner.message_hub.get_info(SKIPPED_KEY, 0) + 1
            runner.message_hub.update_info(SKIPPED_KEY, skipped)
            if skipped <= self.max_skipped:
                runner.logger.warning(
                    f'Skipped the batch of {where}: {value} (no backward pass, no optimizer '
                    f'step; {skipped} of at most {self.max_skipped} skipped in this run)')
                return
            raise NonFiniteLossError(
                f'{value} at {where}: {skipped} batches of this run had non-finite losses, '
                f'more than max_skipped={self.max_skipped}. The weights were never updated '
                f'with them; {kept}. Lower the learning rate or check the data, then resume')
        raise NonFiniteLossError(
            f'{value} at {where}. Training stopped before the backward pass, so the weights '
            f'were not updated with it; {kept}. Lower the learning '
            'rate (or check the inputs, or the fp16 loss scale) and resume with --resume; '
            "or drop such batches with NonFiniteLossHook(action='skip')")


__all__ = ['NonFiniteLossHook', 'NonFiniteLossError', 'SKIPPED_KEY']
