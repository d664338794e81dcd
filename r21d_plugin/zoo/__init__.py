"""Published weights by name: every model of ``configs/pretrained/metafile.yml``, downloaded,
verified, converted and cached on first use (``docs/weights.md``)::

    from r21d_plugin.zoo import get_checkpoint, list_models, model_info
    list_models('r2plus1d_r34*')
    get_checkpoint('r2plus1d_r34_vmz_32x1x10_kinetics400-rgb')   # -> the cached .pth

Importing it registers the ``r21d://NAME`` checkpoint scheme with mmengine.
"""
from .cache import (DigestMismatchError, WeightsUnavailableError, cache_root,  # noqa: F401
                    checkpoint_path, download_path, get_checkpoint, is_cached,
                    record_path)
from .models import (ModelInfo, UnknownModelError, ZooError, is_model,  # noqa: F401
                     list_models, model_info)
from .scheme import SCHEME, is_zoo_url, local_checkpoint, resolve  # noqa: F401
