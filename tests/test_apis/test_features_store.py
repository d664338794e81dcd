"""What feature extraction writes into OUT and nothing else: planted links, a second run into
the same OUT, a resume with other weights or settings, file names that are not UTF-8."""
import csv
import os

import numpy as np
import pytest
from helpers import random_checkpoint, write_video

from r21d_plugin.apis.features import FeatureExtractor, OutputInUseError, extract_features
from r21d_plugin.apis.features.store import exclusive_out
from r21d_plugin.apis.loading import load_model
from r21d_plugin.data.prep.paths import UnsafeOutputPath


@pytest.fixture(scope='module')
def extractor(tiny_demo_config, tmp_path_factory):
    config = tiny_demo_config('R(2+1)D')
    checkpoint = random_checkpoint(config, tmp_path_factory.mktemp('ckpt') / 'rgb.pth')
    return FeatureExtractor(load_model(str(config), str(checkpoint)))


@pytest.fixture
def src(tmp_path):
    root = tmp_path / 'src'
    (root / 'sub').mkdir(parents=True)
    write_video(root / 'v.mp4', 16, seed=1)
    write_video(root / 'sub' / 'w.mp4', 16, seed=2)
    return root


def test_a_link_planted_in_out_cannot_lead_outside_it(extractor, src, tmp_path):
    out, elsewhere = tmp_path / 'out', tmp_path / 'elsewhere'
    out.mkdir()
    elsewhere.mkdir()
    (out / 'sub').symlink_to(elsewhere)
    with pytest.raises(UnsafeOutputPath, match=r"'sub/w.npy': it resolves to .*elsewhere/w\.npy "
                                               r'\(a symbolic link leads out\)'):
        extract_features(extractor, str(src), str(out), workers=0, progress=False)
    assert not list(elsewhere.iterdir())


def test_a_planted_partial_file_is_never_written_through(extractor, src, tmp_path):
    out, victim = tmp_path / 'out', tmp_path / 'bashrc'
    out.mkdir()
    victim.write_text('keep me\n')
    for name in ('.v.npy.partial', 'v.npy.partial', '.index.csv.partial'):
        (out / name).symlink_to(victim)
    report = extract_features(extractor, str(src), str(out), workers=0, progress=False)
    assert sorted(report.done) == ['sub/w.mp4', 'v.mp4']
    assert victim.read_text() == 'keep me\n'
    assert np.load(out / 'v.npy').shape == (1, extractor.feature_shape[0])
    # (the links named as temporary files are removed as a killed run's leftovers)
    assert sorted(os.listdir(out)) == ['.lock', 'index.csv', 'settings.json', 'sub', 'v.npy',
                                       'v.npy.partial']


def test_a_second_run_into_the_same_out_is_refused(extractor, src, tmp_path):
    out = tmp_path / 'out'
    with exclusive_out(str(out)):
        with pytest.raises(OutputInUseError, match=f'another feature extraction is writing '
                                                   f'into {out} '):
            extract_features(extractor, str(src), str(out), workers=0, progress=False)
    assert sorted(os.listdir(out)) == ['.lock']
    extract_features(extractor, str(src), str(out), workers=0, progress=False)  # released


def test_a_rerun_with_other_weights_is_refused_naming_them(extractor, src, tmp_path):
    out = tmp_path / 'out'
    extract_features(extractor, str(src), str(out), workers=0, progress=False,
                     names=dict(checkpoint_sha256='a' * 64))
    with pytest.raises(ValueError, match=r"\(checkpoint_sha256: 'a+' there, 'b+' now\)"):
        extract_features(extractor, str(src), str(out), workers=0, progress=False,
                         names=dict(checkpoint_sha256='b' * 64))


def test_a_name_that_is_not_utf8_is_named_and_the_index_is_written(extractor, src, tmp_path):
    write_video(src / 'x.mp4', 16, seed=3)  # (OpenCV cannot write to such a name)
    os.rename(src / 'x.mp4', os.fsencode(src) + b'/\xff\xfe.mp4')
    out = tmp_path / 'out'
    for _ in range(2):  # and a rerun: the same
        report = extract_features(extractor, str(src), str(out), workers=0, progress=False)
        assert report.failed == {'\\xff\\xfe.mp4': 'the file name is not UTF-8 text, which '
                                                   'index.csv cannot hold: rename the file'}
        with open(out / 'index.csv', newline='') as f:
            assert [row['video'] for row in csv.DictReader(f)] == ['sub/w.mp4', 'v.mp4']
        assert (out / 'failed.txt').read_text().startswith('\\xff\\xfe.mp4\tthe file name')
