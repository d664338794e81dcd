"""Shared source models: the R(2+1)D-34 is built once per session; the zoo's publishers: their
files, a loopback server and a metafile pointing at it."""
import copy
import hashlib
import io
from types import SimpleNamespace

import pytest
import torch
from helpers import (ZOO_MODELS, WeightsServer, ig65m_r2plus1d_34, torchvision_blobs,
                     torchvision_model, write_python2_pickle, zoo_metafile)


@pytest.fixture(scope='session')
def ig65m_8f():
    """ig65m-pytorch's R(2+1)D-34 with the 8-frame IG-65M head (487 classes)."""
    return ig65m_r2plus1d_34(num_classes=487)


@pytest.fixture(scope='session')
def publisher_files(tmp_path_factory):
    """MC3-18 as torchvision publishes it (a state dict; its file named with its digest's
    prefix, as torch.hub names files) and as VMZ does (a Python 2 Caffe2 pickle, BN eps
    1e-3): ``{format: (file name, bytes)}``."""
    buffer = io.BytesIO()
    torch.save(torchvision_model('mc3_18').state_dict(), buffer)
    state = buffer.getvalue()
    vmz = copy.deepcopy(torchvision_model('mc3_18'))
    for module in vmz.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.eps = 1e-3
    pickle_path = tmp_path_factory.mktemp('vmz') / 'mc3_d18_l8.pkl'
    write_python2_pickle({'blobs': torchvision_blobs(vmz, 18)}, str(pickle_path))
    prefix = hashlib.sha256(state).hexdigest()[:8]
    return {'torchvision': (f'mc3_18-{prefix}.pth', state),
            'caffe2': ('mc3_d18_l8.pkl', pickle_path.read_bytes())}


@pytest.fixture
def zoo(publisher_files, tmp_path, monkeypatch):
    """A loopback publisher serving ``publisher_files``, a metafile pointing at it
    (``R21D_METAFILE``) and an empty cache (``R21D_HOME``)."""
    files = {f'/{kind}/{name}': data for kind, (name, data) in publisher_files.items()}
    with WeightsServer(files) as server:
        metafile = zoo_metafile(tmp_path / 'metafile.yml', server.url, publisher_files)
        monkeypatch.setenv('R21D_METAFILE', metafile)
        monkeypatch.setenv('R21D_HOME', str(tmp_path / 'cache'))
        monkeypatch.delenv('R21D_WEIGHTS_MIRROR', raising=False)
        yield SimpleNamespace(
            server=server, cache=tmp_path / 'cache', metafile=metafile,
            env={'R21D_METAFILE': metafile, 'R21D_HOME': str(tmp_path / 'cache')},
            names=ZOO_MODELS, paths={kind: f'/{kind}/{name}'
                                     for kind, (name, _) in publisher_files.items()},
            files=publisher_files)
