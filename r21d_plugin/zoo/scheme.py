"""``r21d://NAME``: a published model's converted checkpoint, wherever mmengine loads one.

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
from typing import Any, Optional

from mmengine.runner import CheckpointLoader

from ..engine.checkpoint_loading import load_checkpoint_file
from .cache import get_checkpoint

SCHEME = 'r21d://'


def is_zoo_url(checkpoint: object) -> bool:
    """Whether ``checkpoint`` is a ``r21d://NAME`` reference."""
    return isinstance(checkpoint, str) and checkpoint.startswith(SCHEME)


def local_checkpoint(checkpoint: str) -> str:
    """A local path for ``checkpoint``: ``r21d://NAME`` fetched into the cache, any other
    string as it is."""
    return get_checkpoint(checkpoint[len(SCHEME):]) if is_zoo_url(checkpoint) else checkpoint


def load_from_r21d(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine's loader of ``r21d://NAME`` (its log line reads "by r21d backend")."""
    return load_checkpoint_file(local_checkpoint(filename), map_location=map_location)


CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_r21d, force=True)
