"""Find the project's configs by name, in a checkout or after ``pip install``.

The configs ship inside the package, as MMAction2 ships its own for mim: a wheel holds a copy
of the repository's ``configs/`` in ``r21d_plugin/.mim/configs`` (``setup.py`` copies it at
build time). In a checkout (an editable install included) the repository's ``configs/`` is
used. So every tool that takes a CONFIG accepts, from any folder::

    r21d-train r2plus1d34_sports1m                               # a file name, anywhere
    r21d-train kinetics/r2plus1d_r18_8xb32-8x1x1-45e_kinetics400-rgb  # relative to configs/
    r21d-train configs/demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py
    r21d-train my_configs/mine.py                                # a path: used as it is
"""
import difflib
import os
import os.path as osp
from pathlib import Path
from typing import List

_PACKAGE = Path(__file__).resolve().parent
#: Where a wheel holds the configs (the ``.mim`` folder, as OpenMMLab packages have it).
PACKAGED_CONFIGS = _PACKAGE / '.mim' / 'configs'
#: The repository's configs, beside the package in a checkout.
CHECKOUT_CONFIGS = _PACKAGE.parent / 'configs'


class ConfigNotFoundError(FileNotFoundError):
    """A CONFIG argument names no file and no config of the project."""


def config_root() -> Path:
    """The folder of the project's configs: the packaged copy, else the checkout's."""
    for root in (PACKAGED_CONFIGS, CHECKOUT_CONFIGS):
        if (root / '_base_').is_dir():
            return root
    raise ConfigNotFoundError(
        f'r21d_plugin has no configs: neither {PACKAGED_CONFIGS} (a built wheel) nor '
        f'{CHECKOUT_CONFIGS} (a checkout) exists. Reinstall from a wheel or a checkout.')


def _with_py(name: str) -> str:
    return name if name.endswith('.py') else name + '.py'


def _config_names(root: Path) -> List[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob('*.py'))


def resolve_config(name: str) -> str:
    """The absolute path of a config given as a path, or by name.

    Tried in order: ``name`` as a path (from the current folder); ``name`` relative to the
    project's configs (``.py`` optional, a leading ``configs/`` ignored); a config file of
    that name anywhere under them (``r2plus1d34_sports1m``), which must be unique.

    Raises:
        ConfigNotFoundError: nothing matches (the message names close matches), or a bare
            name matches several configs (the message lists them).
    """
    if osp.isfile(name):
        return osp.abspath(name)
    root = config_root()
    relative = name[len('configs/'):] if name.startswith('configs/') else name
    for candidate in (relative, _with_py(relative)):
        if (root / candidate).is_file():
            return str(root / candidate)
    names = _config_names(root)
    file_name = osp.basename(_with_py(relative))
    matches = [n for n in names if osp.basename(n) == file_name]
    if len(matches) == 1:
        return str(root / matches[0])
    if matches:
        raise ConfigNotFoundError(
            f'config {name!r} is ambiguous: {len(matches)} configs have that name '
            f'({", ".join(matches)}); give one of them')
    by_file = {}
    for n in names:
        by_file.setdefault(osp.basename(n), []).append(n)
    close = [n for similar in difflib.get_close_matches(file_name, list(by_file), n=3)
             for n in by_file[similar]][:3]
    hint = f'; did you mean {" or ".join(close)}?' if close else ''
    raise ConfigNotFoundError(
        f'config not found: {name!r} is no file (from {os.getcwd()}) and no config under '
        f'{root}{hint}')
