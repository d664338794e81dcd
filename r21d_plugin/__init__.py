"""R(2+1)D and the spatiotemporal ResNets of Tran et al. (CVPR 2018) for MMAction2 1.x.

Importing this package applies the upstream-stack fixes (``compat``) first, then registers
every module into MMAction2's registries. Use it from any MMAction2 config with
``custom_imports = dict(imports=['r21d_plugin'], allow_failed_imports=False)``.
"""
from . import compat

compat.apply()

from . import data, engine, evaluation, models, weights, zoo  # noqa: E402,F401
from .models import PAPER_NAMES, paper_backbone  # noqa: E402

__version__ = '0.1.0'
__all__ = ['paper_backbone', 'PAPER_NAMES', '__version__']
