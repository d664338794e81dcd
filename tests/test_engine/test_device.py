"""The default device, the device set-up and the one autocast helper."""
import pytest
import torch
import torch.nn as nn

from r21d_plugin.engine import device as device_module
from r21d_plugin.engine.device import DeviceError, autocast, default_device, use_device


@pytest.mark.parametrize('available, expected', [(True, 'cuda:0'), (False, 'cpu')])
def test_default_device_is_cuda_only_when_available(monkeypatch, available, expected):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: available)
    assert default_device() == expected


def test_use_device_applies_the_cpu_allocator_setting_on_cpu_only(monkeypatch):
    calls = []
    monkeypatch.setattr(device_module, 'keep_freed_memory', lambda: calls.append(1))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert use_device(None) == torch.device('cpu')
    assert use_device('cpu') == torch.device('cpu')
    assert calls == [1, 1]
    with pytest.raises(DeviceError, match='device cuda:0: torch sees no CUDA device'):
        use_device('cuda:0')
    with pytest.raises(DeviceError, match="device 'gpu7'"):
        use_device('gpu7')
    assert calls == [1, 1]


def test_autocast_bf16_on_cpu_is_close_to_float32():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 4, 1)).eval()
    clips = torch.randn(2, 3, 4, 8, 8)
    with torch.no_grad():
        reference = net(clips)
        with autocast('cpu', 'bf16'):
            low = net(clips)
        with autocast(torch.device('cpu'), None):
            same = net(clips)
    assert low.dtype == torch.bfloat16 and same.dtype == torch.float32
    assert torch.equal(same, reference)
    # bf16 keeps 8 bits of mantissa: about 0.4% of each value, accumulated over 2 layers.
    assert torch.allclose(low.float(), reference, rtol=0.05, atol=0.02 * reference.abs().max())
    assert not torch.equal(low.float(), reference)


def test_autocast_refuses_unknown_names():
    with pytest.raises(ValueError, match=r"amp must be one of \['bf16', 'fp16'\] or None, "
                                         r"got 'fp8'"):
        autocast('cpu', 'fp8')


def test_the_api_loader_applies_the_cpu_allocator_setting(monkeypatch):
    from helpers import tiny_recognizer_config
    from r21d_plugin.apis.loading import load_model
    calls = []
    monkeypatch.setattr(device_module, 'keep_freed_memory', lambda: calls.append(1))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    model = load_model(tiny_recognizer_config())  # the default device: the CPU here
    assert calls == [1] and next(model.parameters()).device == torch.device('cpu')
