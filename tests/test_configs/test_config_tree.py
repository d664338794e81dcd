"""The shape of configs/: every base is used, one dataset base per dataset, one naming
scheme. Read from the files' ``_base_`` lists and names, without loading a config."""
import ast
import glob
import os.path as osp
import re

import pytest
from helpers import CONFIG_NAME, REPO

CONFIGS = str(REPO / 'configs')
BASE_DIR = osp.join(CONFIGS, '_base_')
ALL = sorted(glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True))
BASES = [path for path in ALL if path.startswith(BASE_DIR + osp.sep)]
RUNNABLE = [path for path in ALL if path not in BASES]
#: The design card's entry point keeps its name.
ENTRY_POINT = osp.join(CONFIGS, 'r2plus1d34_sports1m.py')
#: Named for their weights' publishers (configs/pretrained/README.md).
PRETRAINED = osp.join(CONFIGS, 'pretrained')
SCHEME_NAMED = [path for path in RUNNABLE
                if path != ENTRY_POINT and not path.startswith(PRETRAINED + osp.sep)]


def _rel(path: str) -> str:
    return osp.relpath(path, CONFIGS)


def base_files(path: str) -> list:
    """The files a config's ``_base_`` names (package bases, ``mmaction::...``, left out)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == '_base_'):
            names = ast.literal_eval(node.value)
            names = [names] if isinstance(names, str) else names
            return [osp.normpath(osp.join(osp.dirname(path), name)) for name in names
                    if '::' not in name]
    return []


def test_every_base_is_used_by_a_config():
    used, todo = set(), list(RUNNABLE)
    while todo:
        for base in base_files(todo.pop()):
            assert osp.isfile(base), base
            if base not in used:
                used.add(base)
                todo.append(base)
    assert sorted(map(_rel, set(BASES) - used)) == []


def test_one_dataset_base_per_dataset():
    """Clip lengths, flow and splits are ``data_settings`` arguments, not files."""
    names = [osp.basename(path) for path in BASES if osp.dirname(path).endswith('datasets')]
    assert len(names) >= 5
    assert [name for name in names if not re.fullmatch(r'[a-z0-9]+_rgb\.py', name)] == []


@pytest.mark.parametrize('path', SCHEME_NAMED, ids=_rel)
def test_name_follows_the_scheme(path):
    assert CONFIG_NAME.fullmatch(osp.basename(path))
