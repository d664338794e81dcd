"""resolve_config: a CONFIG given as a path, relative to configs/, or by file name, from any
folder; the packaged copy of a wheel before the checkout's."""
from pathlib import Path

import pytest

from r21d_plugin import configs
from r21d_plugin.configs import ConfigNotFoundError, config_root, resolve_config

REPO = Path(__file__).resolve().parents[2]
DEMO = 'demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py'


def test_names_resolve_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_root() == REPO / 'configs'  # a checkout: no packaged copy
    expected = str(REPO / 'configs' / DEMO)
    for name in (DEMO, DEMO[:-3], f'configs/{DEMO}', Path(DEMO).stem, Path(DEMO).name):
        assert resolve_config(name) == expected, name
    assert resolve_config('r2plus1d34_sports1m') == str(REPO / 'configs/r2plus1d34_sports1m.py')


def test_an_existing_path_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / 'configs' / DEMO
    mine.parent.mkdir(parents=True)
    mine.write_text('')
    assert resolve_config(f'configs/{DEMO}') == str(mine)


def test_unknown_and_ambiguous_names_are_refused_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigNotFoundError) as error:
        resolve_config('r2plus1d34_sport1m')
    assert str(error.value).startswith(
        f"config not found: 'r2plus1d34_sport1m' is no file (from {tmp_path}) and no config "
        f"under {REPO / 'configs'}; did you mean r2plus1d34_sports1m.py")
    packaged = tmp_path / 'packaged'
    for folder in ('_base_', 'a', 'b'):
        (packaged / folder).mkdir(parents=True)
        (packaged / folder / 'same.py').write_text('')
    monkeypatch.setattr(configs, 'PACKAGED_CONFIGS', packaged)
    assert config_root() == packaged  # a wheel's copy comes first
    with pytest.raises(ConfigNotFoundError, match=r"^config 'same' is ambiguous: 3 configs "
                       r'have that name \(_base_/same.py, a/same.py, b/same.py\)'):
        resolve_config('same')
    assert resolve_config('a/same') == str(packaged / 'a/same.py')
