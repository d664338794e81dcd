"""Usable after `pip install`: the wheel ships the configs (as r21d_plugin/.mim/configs) and the
label maps, declares a console script for every tool, and its tools find a config by name
from a folder outside the checkout; setup.py admits the torch releases of the compatibility
matrix (docs/install.md) and none older, and pins no torch-dependent package."""
import ast
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import List

from helpers import cli_tools, run_tool, sports1m_not_prepared
from packaging.requirements import Requirement
from packaging.version import Version

from r21d_plugin.label_maps import LABEL_MAPS

REPO = Path(__file__).resolve().parents[2]


def build_wheel(tmp_path: Path) -> Path:
    """The wheel of a copy of the checkout (the build writes beside its sources)."""
    source = tmp_path / 'source'
    source.mkdir()
    for name in ('pyproject.toml', 'setup.py', 'MANIFEST.in', 'README.md'):
        shutil.copy(REPO / name, source)
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
    for folder in ('configs', 'r21d_plugin'):
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    label_maps = source / 'r21d_plugin' / 'label_maps'
    if not any(label_maps.glob('*.txt')):  # none shipped yet: check the rule with a stand-in
        label_maps.mkdir(exist_ok=True)
        (label_maps / 'stand_in.txt').write_text('a class\n')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '.', '--no-deps', '--no-index',
                    '--no-build-isolation', '-q', '-w', str(tmp_path / 'dist')],
                   cwd=source, check=True, capture_output=True, timeout=300)
    return next((tmp_path / 'dist').glob('r21d_plugin-*.whl'))


def console_scripts(wheel: zipfile.ZipFile) -> dict:
    text = next(wheel.read(name).decode() for name in wheel.namelist()
                if name.endswith('.dist-info/entry_points.txt'))
    section = text.split('[console_scripts]')[1].split('\n[')[0]
    return dict(line.split(' = ') for line in section.strip().splitlines())


def test_the_wheel_ships_configs_label_maps_and_a_console_script_per_tool(tmp_path):
    wheel = zipfile.ZipFile(build_wheel(tmp_path))
    names = set(wheel.namelist())
    configs = [path.relative_to(REPO).as_posix() for path in (REPO / 'configs').rglob('*')
               if path.is_file() and '__pycache__' not in path.parts]
    assert 'configs/r2plus1d34_sports1m.py' in configs
    assert {f'r21d_plugin/.mim/{path}' for path in configs} <= names
    assert {f'r21d_plugin/label_maps/{name}.txt' for name in LABEL_MAPS} <= names

    scripts = console_scripts(wheel)
    wrappers = [re.search(r'from r21d_plugin\.cli\.(\w+) import main', path.read_text())
                for path in (REPO / 'tools').rglob('*.py')]
    wrapped = [found.group(1) for found in wrappers if found]  # tools/analysis has scripts too
    assert sorted(wrapped) == cli_tools()  # one tools/ wrapper per tool, no more
    for module in wrapped:  # each tools/ wrapper's tool is a console script
        assert scripts[f"r21d-{module.replace('_', '-')}"] == f'r21d_plugin.cli.{module}:main'

    # Installed (the wheel unpacked onto the path), run from a folder outside the checkout:
    # the packaged configs are found by name, and r21d-train's entry point says what to do.
    site, elsewhere = tmp_path / 'site', tmp_path / 'elsewhere'
    wheel.extractall(site)
    elsewhere.mkdir()
    module, function = scripts['r21d-train'].split(':')
    code = ('import sys; from r21d_plugin.configs import resolve_config; '
            "print(resolve_config('r2plus1d34_sports1m')); "
            'from r21d_plugin.zoo import model_info; '  # the metafile ships too
            "print(model_info('r2plus1d_r34_vmz_32x1x10_kinetics400-rgb').config); "
            f"from {module} import {function}; sys.argv[0] = 'r21d-train'; sys.exit({function}())")
    result = run_tool(sys.executable, '-c', code, 'r2plus1d34_sports1m', cwd=elsewhere,
                      env={'PYTHONPATH': str(site)})
    assert result.stdout == (
        f'{site}/r21d_plugin/.mim/configs/r2plus1d34_sports1m.py\n'
        f'{site}/r21d_plugin/.mim/configs/pretrained/r2plus1d_r34_vmz_32x1x10_kinetics400-rgb.py\n')
    assert result.returncode == 2
    assert result.stderr.endswith(f'r21d-train: error: {sports1m_not_prepared(elsewhere)}\n')


def _install_requires() -> List[Requirement]:
    """setup.py's install_requires, read without running it."""
    tree = ast.parse((REPO / 'setup.py').read_text())
    requires = next(ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, ast.Assign) and node.targets[0].id == 'INSTALL_REQUIRES')
    return [Requirement(line) for line in requires]


def test_setup_admits_the_torch_releases_of_the_matrix_and_none_older():
    # docs/install.md's table, as tools/compat_matrix.sh printed it.
    torches = [Version(torch) for torch in re.findall(
        r'^\| \d+\.\d+\.\d+ \| (\d+\.\d+\.\d+)\S* \|',
        (REPO / 'docs' / 'install.md').read_text(), re.MULTILINE)]
    assert len(set(torches)) >= 3  # the oldest torch, a middle one, the newest
    requires = _install_requires()
    torch = next(requirement for requirement in requires if requirement.name == 'torch')
    assert all(torch.specifier.contains(version) for version in torches)
    oldest, newest = min(torches), max(torches)
    assert not torch.specifier.contains(f'{oldest.major}.{oldest.minor - 1}.99')
    assert not torch.specifier.contains(f'{newest.major}.{newest.minor + 1}.0')
    # Each torchvision / torchaudio / torchcodec release pins one torch: pip would replace
    # the user's torch to satisfy it.
    assert not {'torchvision', 'torchaudio', 'torchcodec'} & {r.name for r in requires}


def test_decord_is_required_where_it_has_wheels_only():
    decord = next(requirement for requirement in _install_requires()
                  if requirement.name == 'decord')
    assert decord.marker.evaluate({'platform_machine': 'x86_64'})
    assert not decord.marker.evaluate({'platform_machine': 'aarch64'})  # GH200 / Grace
