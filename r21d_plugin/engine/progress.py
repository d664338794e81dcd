"""A tqdm progress bar for training and testing, for runs that silence mmengine's log."""
from typing import Dict, Optional

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from tqdm import tqdm


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """One tqdm bar over all training iterations (loss and epoch shown), one over the test
    set, and a line with the metrics after each validation.

    Meant for ``log_level='WARNING'`` runs such as ``tools/demo.py``, where mmengine's own
    INFO lines (environment, config, every ``interval`` iterations) are switched off.
    Only rank 0 draws.

    Args:
        desc (str): the bars' label, e.g. the network's name.
    """

    priority = 'VERY_LOW'

    def __init__(self, desc: str = '') -> None:
        self.desc = desc
        self._bar: Optional[tqdm] = None

    def _open(self, runner, total: int, initial: int, what: str) -> None:
        if runner.rank == 0:
            self._bar = tqdm(total=total, initial=initial, unit='it', dynamic_ncols=True,
                             desc=f'{self.desc} {what}'.strip())

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_train(self, runner) -> None:
        self._open(runner, runner.max_iters, runner.iter, 'train')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if self._bar is None:
            return
        postfix = dict(epoch=f'{runner.epoch + 1}/{runner.max_epochs}')
        if outputs and 'loss' in outputs:
            postfix['loss'] = f'{float(torch.as_tensor(outputs["loss"]).detach()):.3f}'
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if self._bar is not None and metrics:
            shown = ', '.join(f'{k.split("/")[-1]} {100 * v:.1f}' for k, v in metrics.items())
            self._bar.write(f'{self.desc} epoch {runner.epoch}: val {shown}')

    def after_train(self, runner) -> None:
        self._close()

    def before_test(self, runner) -> None:
        self._open(runner, len(runner.test_dataloader), 0, 'test')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def after_test(self, runner) -> None:
        self._close()
