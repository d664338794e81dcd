"""The published models, read from the one source of truth: ``configs/pretrained/metafile.yml``.

Each model of the metafile (OpenMMLab's model-index format) names its config, the
publisher's file (URL, file name, SHA-256 prefix or ``unknown``) and the converter's
arguments (``Convert: --source caffe2 --arch r2plus1d_34``). The metafile ships inside the
wheel with the configs (``r21d_plugin/.mim/configs``), so the zoo works after ``pip install``.
``R21D_METAFILE`` names a metafile of your own (the same format) instead: a lab's own
models, or a test's.
"""
import difflib
import fnmatch
import os
import os.path as osp
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from ..configs import config_root, resolve_config

#: A metafile to read instead of the packaged ``pretrained/metafile.yml``.
METAFILE_ENV = 'R21D_METAFILE'


class ZooError(Exception):
    """A published model cannot be found, fetched, verified or converted; the message says
    what to do."""


class UnknownModelError(ZooError, KeyError):
    """A name that is no model of the metafile (the message lists the closest names)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class ModelInfo:
    """One published model: its config, the publisher's file and what the paper reports.

    Attributes:
        name: the model's name (``r21d-list-models``, ``r21d://NAME``).
        config: absolute path of its config.
        url: the publisher's URL of the weights.
        file: the publisher's file name (``downloads/<file>`` in the cache).
        sha256_prefix: the leading hex digits of the file's SHA-256 the publisher names the
            file with, or None where it names none (VMZ's Dropbox files).
        source: the converter's ``--source`` (``torchvision``, ``vmz-pt``, ``caffe2``).
        arch: the converter's ``--arch``, or None.
        architecture: the network (``R(2+1)D-34``).
        clip_len: frames per clip.
        data: the training data (``Kinetics-400``), with its pretraining where there is one.
        modality: ``RGB`` or ``Flow``.
        num_classes: classes of its classifier.
        label_map: a packaged label map's name, or None (IG-65M's hashtags are not public).
        parameters: the network's exact parameter count.
        flops: multiply-adds per clip, as the metafile prints them (``40.52G``).
        top1, top5: the publisher's video-level accuracy (%), None where it reports none.
        protocol: how the publisher measured it.
    """

    name: str
    config: str
    url: str
    file: str
    sha256_prefix: Optional[str]
    source: str
    arch: Optional[str]
    architecture: str
    clip_len: int
    data: str
    modality: str
    num_classes: int
    label_map: Optional[str]
    parameters: int
    flops: str
    top1: Optional[float] = None
    top5: Optional[float] = None
    protocol: Optional[str] = None
    convert_args: Tuple[str, ...] = field(default=(), repr=False)


def metafile_path() -> str:
    """``$R21D_METAFILE``, else the packaged (or the checkout's) ``pretrained/metafile.yml``."""
    override = os.environ.get(METAFILE_ENV)
    if override:
        return osp.abspath(osp.expanduser(override))
    return str(config_root() / 'pretrained' / 'metafile.yml')


def _convert_options(args: Tuple[str, ...], where: str) -> Tuple[str, Optional[str]]:
    options = dict(zip(args[::2], args[1::2]))
    if len(args) % 2 or set(options) - {'--source', '--arch'} or '--source' not in options:
        raise ZooError(f'{where}: "Convert: {" ".join(args)}" is not "--source S [--arch A]"')
    return options['--source'], options.get('--arch')


def _config_path(config: str, metafile: str) -> str:
    """A metafile's ``Config``: relative to the configs (``configs/pretrained/x.py``), to the
    metafile's folder, or absolute."""
    beside = osp.join(osp.dirname(metafile), config)
    return resolve_config(beside if osp.isfile(beside) else config)


def _model(entry: dict, metafile: str) -> ModelInfo:
    name = entry['Name']
    where = f'{metafile}: model {name}'
    meta, source = entry.get('Metadata') or {}, entry.get('Converted From') or {}
    if not source.get('Weights') or not source.get('File'):
        raise ZooError(f'{where} has no "Converted From" Weights and File')
    args = tuple(shlex.split(source.get('Convert', '')))
    converter, arch = _convert_options(args, where)
    prefix = str(source.get('SHA256 Prefix', 'unknown')).lower()
    metrics = next((result.get('Metrics') or {} for result in entry.get('Results') or []), {})
    protocol = next((result.get('Protocol') for result in entry.get('Results') or []), None)
    data = meta.get('Training Data', '')
    if meta.get('Pretrained') not in (None, 'None'):
        data = f"{data} (from {meta['Pretrained']})"
    return ModelInfo(
        name=name, config=_config_path(entry['Config'], metafile), url=source['Weights'],
        file=source['File'], sha256_prefix=None if prefix == 'unknown' else prefix,
        source=converter, arch=arch, architecture=meta.get('Architecture', ''),
        clip_len=int(meta.get('Clip Length', 0)), data=data,
        modality=entry.get('Modality', 'RGB'), num_classes=int(meta.get('Classes', 0)),
        label_map=meta.get('Label Map'), parameters=int(meta.get('Parameters', 0)),
        flops=str(meta.get('FLOPs', '')), top1=metrics.get('Top 1 Accuracy'),
        top5=metrics.get('Top 5 Accuracy'), protocol=protocol, convert_args=args)


@lru_cache(maxsize=4)
def _read(metafile: str, mtime: float) -> Dict[str, ModelInfo]:
    import yaml

    try:
        with open(metafile, encoding='utf-8') as file:
            models = (yaml.safe_load(file) or {}).get('Models') or []
    except OSError as error:
        raise ZooError(f'cannot read the model metafile {metafile}: {error.strerror}') from None
    return {entry['Name']: _model(entry, metafile) for entry in models}


def _models() -> Dict[str, ModelInfo]:
    metafile = metafile_path()
    try:
        mtime = os.stat(metafile).st_mtime
    except OSError:
        mtime = -1.0  # _read names the file
    return _read(metafile, mtime)


def list_models(pattern: Optional[str] = None) -> List[str]:
    """The names of the published models, sorted; ``pattern`` filters them as timm's does
    (shell wildcards, ``'r2plus1d_r34*'``; a plain word matches names containing it)."""
    names = sorted(_models())
    if pattern is None:
        return names
    if not any(char in pattern for char in '*?['):
        pattern = f'*{pattern}*'
    return [name for name in names if fnmatch.fnmatchcase(name, pattern)]


def is_model(name: object) -> bool:
    """Whether ``name`` is a published model's name (a file of that name is not)."""
    return (isinstance(name, str) and not osp.exists(name) and name in _models())


def model_info(name: str) -> ModelInfo:
    """The metafile's entry of a published model.

    Raises:
        UnknownModelError: no such model; the message names the closest ones.
    """
    models = _models()
    if name in models:
        return models[name]
    close = difflib.get_close_matches(name, list(models), n=3, cutoff=0.5)
    hint = (f'; did you mean {" or ".join(close)}?' if close
            else '; r21d-list-models lists them')
    raise UnknownModelError(f'no published model is named {name!r}{hint}')
