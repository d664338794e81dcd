"""safe_output_path: output names from input entries stay inside the output folder."""
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from r21d_plugin.data.prep.paths import UnsafeOutputPath, safe_output_path


@pytest.mark.parametrize('name, why', [
    ('/data/elsewhere/v', 'the name is an absolute path'),
    ('../elsewhere/v', 'the name has a ".." component'),
    ('a/../../v', 'the name has a ".." component'),
    ('a\\..\\..\\v', 'the name has a ".." component'),
    ('', 'the name is empty'),
    ('./.', 'the name is the output folder itself'),
])
def test_names_leaving_the_output_folder_are_refused_with_the_line(tmp_path, name, why):
    with pytest.raises(UnsafeOutputPath) as info:
        safe_output_path(str(tmp_path / 'out'), name, 'lists/train.txt', 7)
    assert str(info.value).startswith(f'lists/train.txt:7: {name!r}: {why}; outputs must '
                                      f'stay inside {tmp_path / "out"}')


def test_a_symbolic_link_leading_out_is_refused(tmp_path):
    (tmp_path / 'out').mkdir()
    (tmp_path / 'elsewhere').mkdir()
    os.symlink(tmp_path / 'elsewhere', tmp_path / 'out' / 'link')
    with pytest.raises(UnsafeOutputPath, match='a symbolic link leads out'):
        safe_output_path(str(tmp_path / 'out'), 'link/v', 'train.txt', 2)


def test_relative_names_map_below_the_root(tmp_path):
    out = str(tmp_path / 'out')
    assert safe_output_path(out, 'a/./b/v', 'train.txt', 1) == os.path.join(out, 'a', 'b', 'v')
    assert safe_output_path(out, '..v', 'train.txt') == os.path.join(out, '..v')


@given(st.lists(st.sampled_from(['a', 'b', '.', '..', '', '/', 'x..y']), max_size=8))
def test_every_accepted_name_is_inside_the_root(parts):
    out = '/tmp/r21d-paths-root'
    name = '/'.join(parts)
    try:
        path = safe_output_path(out, name, 'train.txt', 1)
    except UnsafeOutputPath:
        return
    assert os.path.commonpath([out, path]) == out and path != out
