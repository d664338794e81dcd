"""The zoo: published weights by name, fetched from a loopback publisher (never the real
ones), verified, converted and cached; the metafile read as shipped."""
import hashlib
import io
import json
import os
import socket

import pytest
import torch
from helpers import WeightsServer, free_port, zoo_metafile

import r21d_plugin
from r21d_plugin.weights import convert_checkpoint, convert_state_dict
from r21d_plugin.zoo import (DigestMismatchError, UnknownModelError, WeightsUnavailableError,
                             get_checkpoint, is_cached, list_models, model_info, record_path)
from r21d_plugin.zoo import download as download_module


def same_state(first: str, second: str) -> bool:
    first, second = (torch.load(path, weights_only=True)['state_dict'] for path in (first, second))
    return first.keys() == second.keys() and all(
        torch.equal(first[key], tensor) for key, tensor in second.items())


def cache_files(root) -> list:
    return sorted(str(path.relative_to(root)) for path in root.rglob('*')
                  if path.is_file() and path.parent.name != 'locks')


# ------------------------------------------------------------------------ the metafile


def test_every_packaged_model_is_listed_with_its_config_and_converter():
    names = list_models()
    assert len(names) == 34
    info = model_info('r2plus1d_r34_vmz_32x1x10_kinetics400-rgb')
    assert info.config == str(r21d_plugin.configs.config_root()
                              / 'pretrained/r2plus1d_r34_vmz_32x1x10_kinetics400-rgb.py')
    assert (info.url, info.file, info.sha256_prefix) == (
        'https://www.dropbox.com/s/y6c6jf7myv2w6iq/r2.5d_d34_l32.pkl', 'r2.5d_d34_l32.pkl', None)
    assert (info.source, info.arch, info.clip_len, info.num_classes) == (
        'caffe2', 'r2plus1d_34', 32, 400)
    assert (info.top1, info.label_map, info.parameters) == (72.4, 'kinetics400', 63697175)
    torchvision = model_info('r2plus1d_r18_torchvision_16x1x10_kinetics400-rgb')
    assert (torchvision.sha256_prefix, torchvision.source, torchvision.arch) == (
        '91a641e6', 'torchvision', None)
    assert model_info('r2plus1d_r34_vmz-ig65m-pretrained_8x1x10_kinetics400-rgb').data == (
        'Kinetics-400 (from IG-65M)')
    for name in names:
        assert os.path.isfile(model_info(name).config)


def test_patterns_filter_names_as_timm_does():
    assert list_models('r2plus1d_r34*ig65m-rgb') == ['r2plus1d_r34_vmz_32x1x10_ig65m-rgb',
                                                     'r2plus1d_r34_vmz_8x1x10_ig65m-rgb']
    assert list_models('torchvision') == ['mc3_r18_torchvision_16x1x10_kinetics400-rgb',
                                          'r2plus1d_r18_torchvision_16x1x10_kinetics400-rgb',
                                          'r3d_r18_torchvision_16x1x10_kinetics400-rgb']
    assert list_models('nothing*') == []


def test_a_wrong_name_gives_the_closest_names():
    with pytest.raises(UnknownModelError) as error:
        model_info('r2plus1d_r34_vmz_32x1x10_kinetics-rgb')
    assert str(error.value) == (
        "no published model is named 'r2plus1d_r34_vmz_32x1x10_kinetics-rgb'; did you mean "
        'r2plus1d_r34_vmz_32x1x10_kinetics400-rgb or r2plus1d_r18_vmz_8x1x10_kinetics400-rgb '
        'or r2plus1d_r18_vmz_16x1x10_kinetics400-rgb?')


# ------------------------------------------------------- download, verify, convert, cache


def test_fetched_once_converted_exactly_and_recorded(zoo, tmp_path):
    name = zoo.names['torchvision']
    path = get_checkpoint(name)

    assert path == str(zoo.cache / 'checkpoints' / f'{name}.pth')
    file_name, data = zoo.files['torchvision']
    expected = convert_checkpoint(str(_write(tmp_path / file_name, data)),
                                  str(tmp_path / 'direct.pth'), 'torchvision')
    assert same_state(path, str(tmp_path / 'direct.pth'))
    assert torch.load(path, weights_only=True)['meta'] == expected
    record = json.loads((zoo.cache / 'checkpoints' / f'{name}.json').read_text())
    assert record == dict(name=name, config=model_info(name).config,
                          url=f'{zoo.server.url}{zoo.paths["torchvision"]}', file=file_name,
                          sha256=hashlib.sha256(data).hexdigest(), convert='--source torchvision',
                          plugin_version=r21d_plugin.__version__)
    assert cache_files(zoo.cache) == [f'checkpoints/{name}.json', f'checkpoints/{name}.pth',
                                      f'downloads/{file_name}']
    assert (zoo.cache / 'downloads' / file_name).read_bytes() == data
    # From the cache: no request, and no network needed.
    zoo.server.files.clear()
    assert is_cached(name) and get_checkpoint(name) == path
    assert zoo.server.requests == {zoo.paths['torchvision']: 1}


def test_ig65m_pytorchs_r2plus1d_34(ig65m_8f, tmp_path, monkeypatch):
    name = 'r2plus1d_r34_vmz_8x1x10_ig65m-rgb'
    buffer = io.BytesIO()
    torch.save(ig65m_8f.state_dict(), buffer)
    data = buffer.getvalue()
    file_name = f'r2plus1d_34_clip8_ig65m_from_scratch-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    with WeightsServer({f'/vmz-pt/{file_name}': data}) as server:
        monkeypatch.setenv('R21D_METAFILE', zoo_metafile(
            tmp_path / 'metafile.yml', server.url, {'vmz-pt': (file_name, data)},
            {'vmz-pt': name}))
        monkeypatch.setenv('R21D_HOME', str(tmp_path / 'cache'))
        path = get_checkpoint(name)
    expected, meta = convert_state_dict(ig65m_8f.state_dict(), 'vmz-pt', 'r2plus1d_34')
    converted = torch.load(path, weights_only=True)
    assert converted['meta']['backbone'] == meta['backbone'] and meta['num_classes'] == 487
    assert all(torch.equal(converted['state_dict'][key], value)
               for key, value in expected.items())


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_a_file_whose_digest_differs_from_the_prefix_is_refused(zoo):
    name, path = zoo.names['torchvision'], zoo.paths['torchvision']
    tampered = bytearray(zoo.server.files[path])
    tampered[-100] ^= 1
    zoo.server.files[path] = bytes(tampered)

    with pytest.raises(DigestMismatchError) as error:
        get_checkpoint(name)

    info = model_info(name)
    assert str(error.value) == (
        f'{zoo.server.url}{path}: SHA-256 {hashlib.sha256(tampered).hexdigest()} does not '
        f'start with {info.sha256_prefix}, the prefix the metafile gives for {info.file}: '
        f'refused, nothing was cached')
    assert cache_files(zoo.cache) == [] and not is_cached(name)


def test_without_a_published_digest_the_first_is_recorded_and_later_files_must_match(
        zoo, capfd):
    name, path = zoo.names['caffe2'], zoo.paths['caffe2']
    info = model_info(name)
    digest = hashlib.sha256(zoo.server.files[path]).hexdigest()
    get_checkpoint(name)
    record = zoo.cache / 'downloads' / f'{info.file}.sha256'
    assert record.read_text() == f'{digest}  {info.file}\n'
    assert (f'{info.file}: SHA-256 {digest} (the publisher gives none; recorded in {record}, '
            f'later files must match it)') in capfd.readouterr().err

    # The cache is cleared but the record kept; the publisher's file changes.
    for stale in ('checkpoints', 'downloads'):
        for file in (zoo.cache / stale).iterdir():
            if file != record:
                file.unlink()
    zoo.server.files[path] = zoo.server.files[path][:-1] + b'\0'
    with pytest.raises(DigestMismatchError) as error:
        get_checkpoint(name)
    changed = hashlib.sha256(zoo.server.files[path]).hexdigest()
    assert str(error.value) == (
        f'{zoo.server.url}{path}: SHA-256 {changed} is not {digest}, the digest recorded for '
        f'{info.file} at its first download ({record}; delete it to accept a new file): '
        f'refused, nothing was cached')
    assert cache_files(zoo.cache) == [f'downloads/{info.file}.sha256']


@pytest.mark.parametrize('honour_range', [True, False])
def test_a_dropped_connection_is_resumed(zoo, honour_range):
    name, path = zoo.names['caffe2'], zoo.paths['caffe2']
    zoo.server.honour_range = honour_range
    half = len(zoo.server.files[path]) // 2
    zoo.server.drop_after[path] = half

    get_checkpoint(name)

    assert zoo.server.requests[path] == 2
    # A server that ignores Range sends the whole file again, and it is read from the start.
    assert zoo.server.ranges[path] == [None, f'bytes={half}-']
    info = model_info(name)
    assert (zoo.cache / 'downloads' / info.file).read_bytes() == zoo.server.files[path]


def test_a_partial_file_left_by_a_killed_process_is_continued(zoo):
    name, path = zoo.names['torchvision'], zoo.paths['torchvision']
    data = zoo.server.files[path]
    downloads = zoo.cache / 'downloads'
    downloads.mkdir(parents=True)
    _write(downloads / f'{model_info(name).file}.part', data[:1000])

    get_checkpoint(name)

    assert zoo.server.ranges[path] == ['bytes=1000-']
    assert (downloads / model_info(name).file).read_bytes() == data


def test_a_mirror_is_used_instead_of_the_publisher(zoo, monkeypatch, tmp_path):
    # The packaged metafile's own entry: VMZ gives no digest, so any mirror's file converts.
    monkeypatch.delenv('R21D_METAFILE')
    name = zoo.names['caffe2']
    file_name, data = zoo.files['caffe2']
    assert model_info(name).file == file_name
    with WeightsServer({f'/weights/{file_name}': data}) as mirror:
        monkeypatch.setenv('R21D_WEIGHTS_MIRROR', f'{mirror.url}/weights/')
        path = get_checkpoint(name)
        assert mirror.requests == {f'/weights/{file_name}': 1}
    assert json.loads(open(record_path(name)).read())['url'] == model_info(name).url
    # A folder on a shared file system works the same (file://).
    folder = tmp_path / 'mirror'
    folder.mkdir()
    _write(folder / file_name, data)
    monkeypatch.setenv('R21D_HOME', str(tmp_path / 'other_cache'))
    monkeypatch.setenv('R21D_WEIGHTS_MIRROR', folder.as_uri())
    assert get_checkpoint(name) != path
    assert same_state(get_checkpoint(name), path)


def test_a_file_placed_by_hand_needs_no_network(zoo, monkeypatch):
    name, path = zoo.names['torchvision'], zoo.paths['torchvision']
    info = model_info(name)
    downloads = zoo.cache / 'downloads'
    downloads.mkdir(parents=True)
    _write(downloads / info.file, zoo.server.files[path])
    monkeypatch.setenv('R21D_WEIGHTS_MIRROR', f'http://127.0.0.1:{free_port()}')

    assert is_cached(name) is False
    get_checkpoint(name)
    assert is_cached(name) and zoo.server.requests == {}

    # One that is not the publisher's file is refused, and left for the user to replace.
    os.remove(zoo.cache / 'checkpoints' / f'{name}.json')
    _write(downloads / info.file, b'not the weights')
    with pytest.raises(DigestMismatchError) as error:
        get_checkpoint(name)
    assert str(error.value) == (
        f'{downloads / info.file}: SHA-256 {hashlib.sha256(b"not the weights").hexdigest()} '
        f'does not start with {info.sha256_prefix}, the prefix the metafile gives for '
        f'{info.file}: refused; replace it with the publisher\'s file from {info.url}')


def test_no_network_and_no_file_names_the_url_and_the_path(zoo, monkeypatch):
    name = zoo.names['caffe2']
    info = model_info(name)
    unreachable = f'http://127.0.0.1:{free_port()}'
    zoo.server.files.clear()
    monkeypatch.setenv('R21D_WEIGHTS_MIRROR', unreachable)
    with pytest.raises(WeightsUnavailableError) as error:
        get_checkpoint(name)
    assert str(error.value) == (
        f'cannot download {unreachable}/{info.file} (Connection refused). Without network '
        f'access, fetch that file elsewhere and put it at {zoo.cache}/downloads/{info.file}')
    monkeypatch.delenv('R21D_WEIGHTS_MIRROR')
    with pytest.raises(WeightsUnavailableError) as error:  # the publisher answers 404
        get_checkpoint(name)
    assert str(error.value) == (
        f'cannot download {info.url} (HTTP 404 Not Found). Without network access, fetch that '
        f'file elsewhere and put it at {zoo.cache}/downloads/{info.file}, or set '
        f'R21D_WEIGHTS_MIRROR to a server or file:// folder that holds {info.file}')
    assert cache_files(zoo.cache) == []


# ----------------------------------------------------------------------------- retries


def test_transient_errors_are_retried_with_exponential_backoff(monkeypatch, tmp_path):
    delays = []
    monkeypatch.setattr(download_module.time, 'sleep', delays.append)
    data = os.urandom(3000)
    part = tmp_path / 'file.part'
    with WeightsServer({'/file': data}) as server:
        server.fail_next['/file'] = [503, 429, 500]
        download_module.download(f'{server.url}/file', str(part), progress=False)
        assert part.read_bytes() == data and delays == [1.0, 2.0, 4.0]

        delays.clear()
        server.fail_next['/file'] = [502] * 3
        part.unlink()
        with pytest.raises(download_module.DownloadError,
                           match=r'^HTTP 502 Bad Gateway \(after 2 retries\)$'):
            download_module.download(f'{server.url}/file', str(part), retries=2)
        assert delays == [1.0, 2.0] and server.requests['/file'] == 7

        server.fail_next['/file'] = [403]  # not transient: no retry
        with pytest.raises(download_module.DownloadError, match='^HTTP 403 Forbidden$'):
            download_module.download(f'{server.url}/file', str(part))
        assert server.requests['/file'] == 8


def test_a_silent_server_times_out_and_is_retried(monkeypatch, tmp_path):
    delays = []
    monkeypatch.setattr(download_module.time, 'sleep', delays.append)
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(('127.0.0.1', 0))
        silent.listen(4)
        url = f'http://127.0.0.1:{silent.getsockname()[1]}/file'
        with pytest.raises(download_module.DownloadError,
                           match=r'timed out \(after 1 retries\)$'):
            download_module.download(url, str(tmp_path / 'file.part'), timeout=0.2, retries=1)
    assert delays == [1.0]
