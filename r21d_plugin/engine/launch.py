"""Distributed launching that also works on machines without a GPU.

mmengine 0.10.7's launchers always call ``torch.cuda.set_device`` and wrap the model in
DDP with ``device_ids=[LOCAL_RANK]``, so ``--launcher pytorch`` fails on CPU processes.
With a GPU we leave everything to mmengine (NCCL). Without one we start the process group
ourselves with gloo *before* the ``Runner`` is built (the ``Runner`` then skips its own
``init_dist``) and ask for DDP with ``device_ids=None``. SyncBN needs GPUs, so a CPU run
keeps the configured BN3d and refuses ``sync_bn``.
"""
import os
import subprocess
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.distributed as dist
from mmengine.config import Config

from .cpu_memory import keep_freed_memory

LAUNCHERS = ('none', 'pytorch', 'slurm')


def _slurm_environment() -> None:
    """Export torchrun's variables (RANK, WORLD_SIZE, ...) from Slurm's, as mmengine does."""
    missing = [name for name in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
               if name not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher slurm needs to run under srun; missing {missing}')
    if 'MASTER_ADDR' not in os.environ:
        nodes = subprocess.check_output(
            ['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']], text=True)
        os.environ['MASTER_ADDR'] = nodes.split()[0]
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def init_cpu_process_group(launcher: str, timeout_s: int = 1800) -> None:
    """Join the gloo process group of a ``pytorch`` (torchrun) or ``slurm`` launch."""
    import datetime

    if launcher == 'slurm':
        _slurm_environment()
    missing = [name for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if name not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher {launcher} expects the variables a launcher sets '
                           f'(run through tools/dist_train.sh or torchrun); missing {missing}')
    dist.init_process_group(backend='gloo', init_method='env://',
                            timeout=datetime.timedelta(seconds=timeout_s))


def prepare_launch(cfg: Config) -> None:
    """Set up ``cfg.launcher`` for this machine (call before ``Runner.from_cfg``).

    Without CUDA: has glibc keep freed memory for reuse (``cpu_memory``; CPU runs are
    about 1.3x faster), and with a distributed launcher joins the gloo process group and
    sets ``model_wrapper_cfg`` to DDP with ``device_ids=None``. Anything else is mmengine's.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if torch.cuda.is_available():
        return
    keep_freed_memory()
    if launcher == 'none':
        return
    if cfg.get('sync_bn'):
        raise ValueError('sync_bn needs GPUs; CPU distributed runs use the BN3d of the '
                         'config (each process normalises its own batch)')
    if not dist.is_initialized():
        dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
        init_cpu_process_group(launcher, timeout_s=dist_cfg.get('timeout', 1800))
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper['device_ids'] = None  # CPU modules: DDP must not pick a device
    cfg.model_wrapper_cfg = wrapper


def shutdown_distributed(wait_for_peers: bool = True) -> None:
    """Leave the process group if one was joined (torch warns when a run exits without).

    Args:
        wait_for_peers (bool): meet the other processes first, so that none tears its
            connections down while a peer still talks to it (gloo then aborts the peer).
            False after an error, when peers may never arrive.
    """
    if dist.is_available() and dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()


def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is True on any rank (``flag`` itself without a
    process group). Every rank must call it at the same point, as any collective."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    from mmengine.dist import all_reduce  # places the tensor where the backend needs it

    tensor = torch.tensor([int(flag)])
    all_reduce(tensor, op='max')
    return bool(tensor.item())


@contextmanager
def launched(cfg: Config) -> Iterator[None]:
    """``prepare_launch(cfg)`` on entry, ``shutdown_distributed()`` on exit."""
    prepare_launch(cfg)
    try:
        yield
    except BaseException:
        shutdown_distributed(wait_for_peers=False)
        raise
    shutdown_distributed()
