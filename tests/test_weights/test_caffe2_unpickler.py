"""The restricted unpickler: numpy arrays in plain containers load, nothing else does."""
import pickle

import numpy as np
import pytest
from helpers import RunsACommand, write_python2_pickle

from r21d_plugin.weights import ConversionError
from r21d_plugin.weights.caffe2_source import load_blobs



def test_a_pickle_naming_another_global_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps({'blobs': {'conv1_w': RunsACommand(marker)}}, protocol=2))
    with pytest.raises(ConversionError) as error:
        load_blobs(str(path))
    assert str(error.value).startswith(f'{path}: refusing to load global ')
    assert ('posix.system' in str(error.value) or 'os.system' in str(error.value))
    assert not marker.exists()


@pytest.mark.parametrize('protocol', ['python2', 2, pickle.HIGHEST_PROTOCOL])
def test_numpy_arrays_load_from_python2_and_python3_pickles(protocol, tmp_path):
    blobs = {'conv1_w': np.random.rand(4, 3, 1, 7, 7).astype(np.float32),
             'conv1_spatbn_relu_rm': np.arange(4, dtype=np.float64),
             'last_out_L5_b': np.zeros(5, np.float32)}
    path = tmp_path / 'blobs.pkl'
    if protocol == 'python2':
        write_python2_pickle({'blobs': blobs}, str(path))
        assert b'numpy.core.multiarray' in path.read_bytes()  # as VMZ's files name it
    else:
        path.write_bytes(pickle.dumps({'blobs': blobs}, protocol=protocol))
    loaded = load_blobs(str(path))
    assert loaded.keys() == blobs.keys()
    for name, blob in blobs.items():
        assert loaded[name].dtype == blob.dtype and np.array_equal(loaded[name], blob)


def test_a_bare_blob_dict_loads(tmp_path):
    path = tmp_path / 'bare.pkl'
    write_python2_pickle({'conv1_w': np.ones((2, 2), np.float32)}, str(path))
    assert list(load_blobs(str(path))) == ['conv1_w']


@pytest.mark.parametrize('content,message', [
    ({'blobs': {'conv1_w': np.array([1, 'a'], dtype=object)}},
     "blob 'conv1_w' is a array of object, not a numeric array"),
    ({'blobs': {'conv1_w': [1.0, 2.0]}}, "blob 'conv1_w' is a list, not a numeric array"),
    ({'blobs': [np.zeros(2)]}, 'expected a dict of blobs, got list'),
])
def test_anything_but_numeric_arrays_is_refused(content, message, tmp_path):
    path = tmp_path / 'odd.pkl'
    path.write_bytes(pickle.dumps(content, protocol=2))
    with pytest.raises(ConversionError, match=message):
        load_blobs(str(path))


def test_a_truncated_file_is_refused(tmp_path):
    path = tmp_path / 'cut.pkl'
    path.write_bytes(pickle.dumps({'blobs': {'w': np.zeros(100)}}, protocol=2)[:150])
    with pytest.raises(ConversionError, match=f'{path}: not a readable pickle'):
        load_blobs(str(path))
