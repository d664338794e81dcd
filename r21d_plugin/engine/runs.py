"""Training and testing runs with MMAction2's command-line semantics.

``r21d-train`` and ``r21d-test`` (``r21d_plugin/cli``) parse arguments and call
``make_train_config`` / ``make_test_config``, then ``run_train`` / ``run_test``; the demo
does the same. A CONFIG is a path or a config name (``r21d_plugin.configs``).
"""
import importlib.util
import logging
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from ..configs import resolve_config
from ..zoo import resolve
from .launch import launched
from .preflight import check_run_inputs, require_checkpoint

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _load(config: str, cfg_options: Optional[dict], launcher: str,
          work_dir: Optional[str]) -> Config:
    config = resolve_config(config)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    # work_dir: the command line, else the config, else work_dirs/<config name>.
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    # torch's DataLoader rejects persistent_workers=True without workers, and MMAction2's
    # configs set it unconditionally: `--cfg-options *_dataloader.num_workers=0` must work.
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader and loader.get('num_workers', 0) == 0:
            loader.persistent_workers = False
    _without_tensorboard_if_missing(cfg)
    return cfg


def _without_tensorboard_if_missing(cfg: Config) -> None:
    """Drop ``TensorboardVisBackend`` where tensorboard is not installed (setup.py's
    ``tensorboard`` extra), with a warning: the run still logs to its work dir."""
    visualizer = cfg.get('visualizer')
    try:
        installed = importlib.util.find_spec('tensorboard') is not None
    except (ImportError, ValueError):  # blocked, or a broken install
        installed = False
    if not visualizer or installed:
        return
    backends = visualizer.get('vis_backends') or []
    kept = [backend for backend in backends if backend.get('type') != 'TensorboardVisBackend']
    if len(kept) < len(backends):
        visualizer.vis_backends = kept
        print_log('tensorboard is not installed: this run logs without TensorBoard '
                  '(pip install "r21d_plugin[tensorboard]" to log to it)', logger='current',
                  level=logging.WARNING)


def make_train_config(config: str,
                      work_dir: Optional[str] = None,
                      resume: Optional[str] = None,
                      amp: Optional[str] = None,
                      no_validate: bool = False,
                      auto_scale_lr: bool = False,
                      seed: Optional[int] = None,
                      diff_rank_seed: bool = False,
                      deterministic: bool = False,
                      cfg_options: Optional[dict] = None,
                      launcher: str = 'none') -> Config:
    """The config of a training run, as MMAction2's ``tools/train.py`` builds it.

    Args:
        resume (str, optional): ``'auto'`` resumes from the latest checkpoint of the work
            dir; a path resumes from that checkpoint (model, optimizer, schedulers, epoch
            and iteration).
        amp (str, optional): mixed precision, ``'fp16'`` (with dynamic loss scaling) or
            ``'bf16'`` (``AmpOptimWrapper``; needs a GPU). True means ``'fp16'``.
        Other arguments: as ``tools/train.py --help`` describes them.
    """
    cfg = _load(config, cfg_options, launcher, work_dir)
    if no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if amp:
        if not torch.cuda.is_available():
            raise RuntimeError('--amp needs a GPU (mmengine\'s AmpOptimWrapper is CUDA-only); '
                               'train without --amp on CPU')
        wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper_type not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp replaces OptimWrapper by AmpOptimWrapper; this config '
                             f'uses {wrapper_type}')
        amp = 'fp16' if amp is True else amp
        if amp not in ('fp16', 'bf16'):
            raise ValueError(f"amp must be 'fp16' or 'bf16', got {amp!r}")
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = {'fp16': 'float16', 'bf16': 'bfloat16'}[amp]
        if amp == 'fp16':  # bfloat16 has float32's range: nothing to scale
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    if auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness') is None:
        cfg.randomness = dict(seed=seed, diff_rank_seed=diff_rank_seed,
                              deterministic=deterministic)
    return cfg


def make_test_config(config: str,
                     checkpoint: Optional[str] = None,
                     work_dir: Optional[str] = None,
                     dump: Optional[str] = None,
                     cfg_options: Optional[dict] = None,
                     launcher: str = 'none') -> Config:
    """The config of a test run, as MMAction2's ``tools/test.py`` builds it.

    Args:
        config (str): a config (path or name), or a published model's name
            (``r21d_plugin.zoo``): its config, and its published weights when no
            ``checkpoint`` is given.
        checkpoint (str, optional): the checkpoint to test; ``r21d://NAME`` for a published
            model's. Needed unless ``config`` is a published model's name.
        dump (str, optional): a ``.pkl`` file that receives every test sample's results,
            per-clip scores included (``clip_scores``), for
            ``tools/analysis/accuracy_vs_clips.py``.
    """
    config, checkpoint = resolve(config, checkpoint, need_checkpoint=True)
    cfg = _load(config, cfg_options, launcher, work_dir)
    require_checkpoint(checkpoint, 'test')
    cfg.load_from = checkpoint
    if dump is not None:
        if not dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump must name a .pkl file, got {dump}')
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, Sequence) else [evaluators]
        cfg.test_evaluator = evaluators + [dict(type='DumpResults', out_file_path=dump)]
    return cfg


def build_runner(cfg: Config) -> Runner:
    """The runner of a prepared config (``runner_type`` honoured, as in MMAction2)."""
    if 'runner_type' in cfg:
        from mmaction.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def run_train(cfg: Config) -> Runner:
    """Train under ``cfg.launcher`` (CPU distributed included); returns the runner.

    Every process first checks that the data and checkpoints are there (``preflight``).
    """
    check_run_inputs(cfg, 'train')
    with launched(cfg):
        runner = build_runner(cfg)
        runner.train()
    return runner


def run_test(cfg: Config) -> dict:
    """Test under ``cfg.launcher``; returns the metrics (after the checks of ``run_train``)."""
    check_run_inputs(cfg, 'test')
    with launched(cfg):
        return build_runner(cfg).test()
