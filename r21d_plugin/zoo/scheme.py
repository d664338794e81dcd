"""A published model's name wherever a config and a checkpoint are taken.

``resolve`` turns what a user gives a tool (``r21d-infer NAME VIDEO``, ``load_recognizer(NAME)``)
into a config file and a local checkpoint. ``r21d://NAME`` is the name as a checkpoint,
wherever mmengine loads one.

Registered with mmengine's ``CheckpointLoader`` when ``r21d_plugin`` is imported, so any
MMAction2 config that imports the plugin can start from published weights, run by
MMAction2's own runner::

    custom_imports = dict(imports=['r21d_plugin'], allow_failed_imports=False)
    load_from = 'r21d://r2plus1d_r34_vmz_32x1x10_kinetics400-rgb'
    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', prefix='backbone.',
        checkpoint='r21d://r2plus1d_r34_vmz_32x1x10_kinetics400-rgb')))

The checkpoint is fetched, verified and converted on first use (``zoo.cache``), then read
from the cache, with the plugin's safe loader.
"""
import difflib
from typing import Any, Optional, Tuple

from mmengine.runner import CheckpointLoader

from ..configs import ConfigNotFoundError, resolve_config
from ..engine.checkpoint_loading import load_checkpoint_file
from ..engine.preflight import CheckpointNotFoundError
from .cache import get_checkpoint
from .models import UnknownModelError, is_model, list_models, model_info

SCHEME = 'r21d://'


def is_zoo_url(checkpoint: object) -> bool:
    """Whether ``checkpoint`` is a ``r21d://NAME`` reference."""
    return isinstance(checkpoint, str) and checkpoint.startswith(SCHEME)


def local_checkpoint(checkpoint: str) -> str:
    """A local path for ``checkpoint``: ``r21d://NAME`` fetched into the cache, any other
    string as it is."""
    return get_checkpoint(checkpoint[len(SCHEME):]) if is_zoo_url(checkpoint) else checkpoint


def resolve(config: str, checkpoint: Optional[str] = None,
            need_checkpoint: bool = False) -> Tuple[str, Optional[str]]:
    """The config file and the local checkpoint that ``config`` and ``checkpoint`` stand for.

    A published model's name (``r21d-list-models``) stands for its config and, when no
    checkpoint is given, its published weights (fetched, verified and converted into the
    cache first if needed). A ``r21d://NAME`` checkpoint is the cached file of that model.
    Any other config is a path or a config name (``r21d_plugin.configs``).

    Args:
        need_checkpoint (bool): a tool that runs trained weights: a config given without a
            checkpoint is refused. Default: False (the checkpoint stays None).

    Raises:
        ConfigNotFoundError: ``config`` is no file and no config name (close config names
            are suggested).
        UnknownModelError: neither, but close to a published model's name (which is named).
        CheckpointNotFoundError: ``need_checkpoint``, and a config without a checkpoint.
        ZooError: the weights cannot be fetched or verified (``zoo.cache``).
    """
    checkpoint = local_checkpoint(checkpoint) if checkpoint else checkpoint
    if is_model(config):
        return model_info(config).config, checkpoint or get_checkpoint(config)
    try:
        path = resolve_config(config)
    except ConfigNotFoundError as error:
        close = difflib.get_close_matches(config, list_models(), n=3, cutoff=0.8)
        if not close:
            raise
        message = str(error)
        joiner = (', or the published model ' if message.endswith('?')
                  else '; did you mean the published model ')
        raise UnknownModelError(f'{message.rstrip("?")}{joiner}{" or ".join(close)}?') from None
    if need_checkpoint and checkpoint is None:
        raise CheckpointNotFoundError(
            f'no checkpoint for config {config}: give one after the config, or a published '
            f"model's name instead of the config (r21d-list-models)")
    return path, checkpoint


def load_from_r21d(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine's loader of ``r21d://NAME`` (its log line reads "by r21d backend")."""
    return load_checkpoint_file(local_checkpoint(filename), map_location=map_location)


CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_r21d, force=True)
