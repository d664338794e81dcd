"""What a run reads, checked before it starts: a missing file is one clear error.

``run_train`` and ``run_test`` call ``check_run_inputs`` in every process, before any of
them joins a process group, so a missing dataset or checkpoint stops every rank the same
way (the tools print the message alone, ``r21d_plugin.cli.errors``), instead of a traceback
through mmengine's runner once the model and the environment report are built.

Which dataset a missing file belongs to, and how to prepare it, comes from the config: the
dataset bases in ``configs/_base_/datasets`` carry a ``data_preparation`` entry::

    data_preparation = dict(
        dataset='Sports-1M',        # the name the message uses
        root='data/sports1m',       # files under this folder belong to it
        how='tools/data/sports1m/README.md: ...')  # the command or README section

A missing file outside ``root`` (a config pointed at other data) gets a generic message.
"""
import os
import os.path as osp
from typing import Iterator, List, Tuple

from mmengine.config import Config

from .checkpoint_loading import load_checkpoint_file
from ..configs import ConfigNotFoundError, resolve_config

#: The dataloaders each phase reads (validation only when the run validates).
PHASE_DATALOADERS = {'train': ('train_dataloader', 'val_dataloader'),
                     'test': ('test_dataloader', )}
#: What each kind of checkpoint is expected to be, for the message naming a missing one.
CHECKPOINT_ROLES = {
    'test': ('the checkpoint to test', 'a .pth file a training run saved '
             '(work_dirs/<config>/epoch_N.pth or best_*.pth) or weights converted with '
             'r21d-convert-weights'),
    'resume': ('the checkpoint to resume from (--resume)', 'a checkpoint an earlier run of '
               'this config saved (work_dirs/<config>/epoch_N.pth); --resume without a path '
               'resumes from the latest one of the work dir'),
    'load_from': ('load_from, the weights this run starts from', 'a .pth file a training '
                  'run saved, or published weights converted with r21d-convert-weights'),
    'init_cfg': ("a Pretrained init_cfg's checkpoint", 'a .pth file of the weights this '
                 'part of the model starts from (r21d-convert-weights writes them)'),
    'rgb_checkpoint': ("the RGB stream's checkpoint",
                       'the checkpoint its single-stream config trained'),
    'flow_checkpoint': ("the flow stream's checkpoint",
                        'the checkpoint its single-stream config trained'),
    'convert': ('the published checkpoint to convert', "torchvision's or ig65m-pytorch's "
                '(VMZ-pt) .pth, or a VMZ Caffe2 .pkl, as --source says'),
}


class DatasetNotPreparedError(FileNotFoundError):
    """An annotation file or data folder a run reads does not exist."""


class CheckpointNotFoundError(FileNotFoundError):
    """A checkpoint a run or tool reads does not exist."""


def _relative_to_cwd(path: str) -> str:
    return '' if osp.isabs(path) else f' (relative to {os.getcwd()})'


def _is_local(path: object) -> bool:
    return isinstance(path, str) and bool(path) and '://' not in path


def _under(path: str, root: str) -> bool:
    path, root = osp.normpath(osp.abspath(path)), osp.normpath(osp.abspath(root))
    return path == root or path.startswith(root + os.sep)


def _datasets(node: object) -> Iterator[dict]:
    """Every dataset dict of a dataloader's ``dataset`` (through dataset wrappers)."""
    if isinstance(node, dict):
        if 'ann_file' in node or 'data_prefix' in node:
            yield node
        for key in ('dataset', 'datasets'):
            yield from _datasets(node.get(key))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _datasets(item)


def _dataset_files(dataset: dict) -> Iterator[Tuple[str, str]]:
    """(path, what it is) of a dataset's annotation file and data folders, as it joins them."""
    data_root = dataset.get('data_root') or ''
    ann_file = dataset.get('ann_file')
    if _is_local(ann_file):
        yield osp.join(data_root, ann_file), 'the annotation file'
    for key, prefix in (dataset.get('data_prefix') or {}).items():
        if _is_local(prefix):
            yield osp.join(data_root, prefix), f'the {key} folder (data_prefix.{key})'


def _phase_dataloaders(cfg: Config, phase: str) -> List[str]:
    names = [name for name in PHASE_DATALOADERS[phase] if cfg.get(name)]
    if phase == 'train' and not cfg.get('val_cfg'):
        names = [name for name in names if name != 'val_dataloader']
    return names


def _not_prepared(cfg: Config, path: str, what: str, loader: str) -> DatasetNotPreparedError:
    missing = f'{path}, {what} of {loader}, does not exist{_relative_to_cwd(path)}.'
    hint = cfg.get('data_preparation')
    if hint and _under(path, hint['root']):
        return DatasetNotPreparedError(
            f'{hint["dataset"]} is not prepared: {missing}\n'
            f'Prepare {hint["dataset"]} with {hint["how"]}.')
    return DatasetNotPreparedError(
        f'{missing}\nPrepare the dataset this config reads, or point the config at it '
        f'(--cfg-options {loader}.dataset.ann_file=... ).')


def check_dataset_files(cfg: Config, phase: str) -> None:
    """Raise DatasetNotPreparedError for the first missing file a ``phase`` run reads.

    Args:
        cfg (Config): the prepared run config (``make_train_config`` / ``make_test_config``).
        phase (str): ``'train'`` (training data, and validation data when it validates) or
            ``'test'``.
    """
    for loader in _phase_dataloaders(cfg, phase):
        for dataset in _datasets(cfg[loader].get('dataset')):
            for path, what in _dataset_files(dataset):
                if not osp.exists(path):
                    raise _not_prepared(cfg, path, what, loader)


def _producer(path: str) -> str:
    """' Train <config> first ...' when ``path`` is what one of our configs' runs saves."""
    parts = osp.normpath(path).split(os.sep)
    if len(parts) >= 3 and parts[-3] == 'work_dirs':
        try:
            resolve_config(parts[-2])
        except ConfigNotFoundError:
            return ''
        return (f' It is what the config {parts[-2]} saves: train it first '
                f'(r21d-train {parts[-2]}).')
    return ''


def require_checkpoint(path: str, role: str) -> None:
    """Raise CheckpointNotFoundError, saying what was expected, if ``path`` is no file.

    Args:
        path (str): the checkpoint path (URLs are left to mmengine).
        role (str): a key of ``CHECKPOINT_ROLES``.
    """
    if not _is_local(path) or osp.isfile(osp.expanduser(path)):
        return
    name, expected = CHECKPOINT_ROLES[role]
    raise CheckpointNotFoundError(
        f'checkpoint not found: {path}{_relative_to_cwd(path)}, {name}. Expected '
        f'{expected}.{_producer(path)}')


def _model_checkpoints(node: object) -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and _is_local(node.get('checkpoint')):
            yield node['checkpoint'], 'init_cfg'
        for role in ('rgb_checkpoint', 'flow_checkpoint'):
            if _is_local(node.get(role)):
                yield node[role], role
        for value in node.values():
            yield from _model_checkpoints(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _model_checkpoints(item)


def run_checkpoints(cfg: Config, phase: str) -> List[Tuple[str, str]]:
    """(path, role) of every local checkpoint a ``phase`` run of ``cfg`` loads."""
    checkpoints = []
    if _is_local(cfg.get('load_from')):
        role = 'test' if phase == 'test' else 'resume' if cfg.get('resume') else 'load_from'
        checkpoints.append((cfg.load_from, role))
    # init_cfg applies when training starts; a test loads every weight from its checkpoint.
    checkpoints += [(path, role) for path, role in _model_checkpoints(cfg.get('model'))
                    if phase == 'train' or role != 'init_cfg']
    return checkpoints


def check_run_inputs(cfg: Config, phase: str, read_checkpoints: bool = False) -> None:
    """Check that the dataset files and checkpoints a ``phase`` run reads are there.

    Args:
        cfg (Config): the prepared run config.
        phase (str): ``'train'`` or ``'test'``.
        read_checkpoints (bool): also load each checkpoint (on the CPU), so that a corrupt
            one fails here too (``--dry-run``). Default: False (the run loads them anyway).

    Raises:
        DatasetNotPreparedError, CheckpointNotFoundError, and with ``read_checkpoints``
        UnreadableCheckpointError or UntrustedCheckpointError (``engine.checkpoint_loading``).
    """
    check_dataset_files(cfg, phase)
    for path, role in run_checkpoints(cfg, phase):
        require_checkpoint(path, role)
        if read_checkpoints:
            load_checkpoint_file(path, map_location='cpu')
