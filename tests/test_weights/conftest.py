"""Shared source models: the R(2+1)D-34 is built once per session; the zoo's publishers: their
files, a loopback server and a metafile pointing at it."""
import copy
import hashlib
import io
from types import SimpleNamespace

import pytest
import torch
import yaml
from helpers import (CONFIG_DIR, WeightsServer, ig65m_r2plus1d_34, torchvision_blobs,
                     torchvision_model, write_python2_pickle)


@pytest.fixture(scope='session')
def ig65m_8f():
    """ig65m-pytorch's R(2+1)D-34 with the 8-frame IG-65M head (487 classes)."""
    return ig65m_r2plus1d_34(num_classes=487)


#: The metafile's entries the zoo tests serve, by the format their publisher's file has.
ZOO_MODELS = {'torchvision': 'mc3_r18_torchvision_16x1x10_kinetics400-rgb',
              'caffe2': 'mc3_r18_vmz_8x1x10_kinetics400-rgb'}


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


def zoo_metafile(path, base_url: str, files: dict) -> str:
    """The packaged metafile's entries of ``ZOO_MODELS``, their weights at ``base_url``
    (``files``: ``{format: (file name, bytes)}``); a digest prefix where the real entry has
    one (the file's own), ``unknown`` where it has none."""
    with open(f'{CONFIG_DIR}/metafile.yml') as file:
        models = {model['Name']: model for model in yaml.safe_load(file)['Models']}
    entries = []
    for kind, name in ZOO_MODELS.items():
        entry, (file_name, data) = models[name], files[kind]
        source = entry['Converted From']
        if source['SHA256 Prefix'] != 'unknown':
            source['SHA256 Prefix'] = hashlib.sha256(data).hexdigest()[:8]
        source.update(Weights=f'{base_url}/{kind}/{file_name}', File=file_name)
        entries.append(entry)
    with open(path, 'w') as file:
        yaml.safe_dump({'Models': entries}, file)
    return str(path)


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
