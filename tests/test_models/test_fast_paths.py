"""Fast paths (channels_last_3d, BatchNorm folding, bf16) compute what the plain path does."""
import copy

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from r21d_plugin import PAPER_NAMES, paper_backbone
from r21d_plugin.models import CONV_KINDS, fast_paths
from r21d_plugin.models.convs import SpatialConv3d, TemporalConv3d
from r21d_plugin.models.fast_paths import fold_batch_norm
from r21d_plugin.models.resnet import ConvNormAct

init_default_scope('mmaction')

TINY = dict(depth=10, base_channels=4, clip_len=4)
PLAIN = dict(memory_format='contiguous', fold_bn=False)


def randomise_norms(model: nn.Module) -> None:
    """Running statistics and affine parameters far from the identity, as after training."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)


def assert_close(actual: torch.Tensor, expected: torch.Tensor, tol: float = 1e-4) -> None:
    """Within ``tol`` of the expected values' scale (float32 rounding differs by path)."""
    scale = expected.abs().max().clamp(min=1.0)
    assert (actual - expected).abs().max() <= tol * scale, (
        f'max difference {(actual - expected).abs().max():.3g} at scale {scale:.3g}')


def twin_backbones(name: str, **kwargs):
    """The plain and the default (fast) backbone with the same weights."""
    torch.manual_seed(0)
    plain = MODELS.build(paper_backbone(name, **{**TINY, **kwargs, **PLAIN}))
    plain.init_weights()
    randomise_norms(plain)
    fast = MODELS.build(paper_backbone(name, **{**TINY, **kwargs}))
    fast.load_state_dict(plain.state_dict())
    return plain, fast


@pytest.fixture
def fold_calls(monkeypatch):
    """How many times a BatchNorm was folded into a conv (the fast path really ran)."""
    calls = []

    def counting(*args):
        calls.append(1)
        return fold_batch_norm(*args)

    monkeypatch.setattr(fast_paths, 'fold_batch_norm', counting)
    return calls


@pytest.fixture
def fused_relu_dtypes(monkeypatch):
    """The compute dtype of every conv that ran with its ReLU fused in."""
    assert fast_paths._CONV_POINTWISE is not None, 'this torch build lacks oneDNN conv fusion'
    dtypes = []

    def recording(x, *args):
        dtypes.append(x.dtype)
        return fused(x, *args)

    fused = fast_paths._CONV_POINTWISE
    monkeypatch.setattr(fast_paths, '_CONV_POINTWISE', recording)
    return dtypes


def conv_norm(kind: str, fold: bool) -> ConvNormAct:
    temporal_kernel = 4 if kind == 'r2d' else 3
    conv = CONV_KINDS[kind](in_channels=6, out_channels=8, spatial_kernel=3,
                            temporal_kernel=temporal_kernel, spatial_stride=2,
                            temporal_stride=2 if kind != 'r2d' else 1)
    for module in conv.modules():
        if hasattr(module, 'fold_norm'):
            module.fold_norm = fold
    return ConvNormAct(conv, 8, dict(type='BN3d'), dict(type='ReLU'))


@pytest.mark.parametrize('training', [False, True])
@pytest.mark.parametrize('kind', sorted(CONV_KINDS))
def test_each_conv_kind_fast_path_equals_plain_path(kind, training, fold_calls):
    torch.manual_seed(0)
    plain = conv_norm(kind, fold=False)
    randomise_norms(plain)
    fast = conv_norm(kind, fold=True)
    fast.load_state_dict(plain.state_dict())
    plain.train(training)
    fast.train(training)
    # Large enough a frame that folding pays (the output outnumbers the weight).
    x = torch.randn(2, 6, 4, 20, 20)
    x_plain = x.clone().requires_grad_()
    x_fast = x.clone().contiguous(memory_format=torch.channels_last_3d).requires_grad_()
    out_plain, out_fast = plain(x_plain), fast(x_fast)
    assert len(fold_calls) == (0 if training else 2 if kind == '2plus1d' else 1)
    assert_close(out_fast, out_plain)
    grad = torch.randn_like(out_plain)
    out_plain.backward(grad)
    out_fast.backward(grad)
    assert_close(x_fast.grad, x_plain.grad)
    fast_params = dict(fast.named_parameters())
    for name, param in plain.named_parameters():
        assert_close(fast_params[name].grad, param.grad)


def temporal_conv(temporal_kernel: int = 3, stride: int = 1, **sizes) -> TemporalConv3d:
    return TemporalConv3d(temporal_kernel=temporal_kernel, temporal_stride=stride, **sizes)


def spatial_conv(stride: int = 1, **sizes) -> SpatialConv3d:
    return SpatialConv3d(spatial_kernel=3, spatial_stride=stride, **sizes)


#: Each training fast path: its conv kind, and the grad_fn its output has where it applies.
TRAINING_FAST_PATHS = {'tapwise': (temporal_conv, '_TapwiseWeightGradConvBackward'),
                       'framewise': (spatial_conv, 'PermuteBackward0')}  # a view of a 2D conv


@pytest.mark.parametrize('path, frames, options', [
    ('tapwise', 4, dict(temporal_kernel=3, stride=1)),
    ('tapwise', 5, dict(temporal_kernel=3, stride=2)),
    ('tapwise', 6, dict(temporal_kernel=5, stride=2)),
    ('tapwise', 1, dict(temporal_kernel=3, stride=1)),  # outer taps outside: zero gradient
    ('framewise', 4, dict(stride=1)),
    ('framewise', 3, dict(stride=2)),
])
def test_training_fast_path_equals_float64_conv3d(path, frames, options):
    torch.manual_seed(0)
    make, backward = TRAINING_FAST_PATHS[path]
    conv = make(in_channels=5, out_channels=7, **options).to(
        memory_format=torch.channels_last_3d)
    bias = torch.randn(7, requires_grad=True)  # as when a frozen BatchNorm is folded in
    x = torch.randn(3, 5, frames, 9, 8).contiguous(
        memory_format=torch.channels_last_3d).requires_grad_()
    out = conv._conv_forward(x, conv.weight, bias)
    assert type(out.grad_fn).__name__ == backward
    if path == 'framewise':  # a view of the 2D conv's NHWC output, in the clip's layout
        assert out.is_contiguous(memory_format=torch.channels_last_3d)
    grad = torch.randn_like(out)
    out.backward(grad)
    leaves = [t.detach().double().requires_grad_() for t in (x, conv.weight, bias)]
    expected = nn.functional.conv3d(*leaves, conv.stride, conv.padding)
    expected.backward(grad.double())
    assert_close(out.double(), expected, tol=1e-6)
    for actual, reference in zip((x.grad, conv.weight.grad, bias.grad), leaves):
        assert_close(actual.double(), reference.grad, tol=1e-6)


@pytest.mark.parametrize('path', sorted(TRAINING_FAST_PATHS))
def test_training_fast_paths_only_in_cpu_float32_training_on_ndhwc(path):
    make, backward = TRAINING_FAST_PATHS[path]
    conv = make(in_channels=4, out_channels=6).to(memory_format=torch.channels_last_3d)
    x = torch.randn(2, 4, 4, 5, 5)
    channels_last = x.contiguous(memory_format=torch.channels_last_3d)

    def backward_kind(x):
        return type(conv(x).grad_fn).__name__

    assert backward_kind(channels_last) == backward
    assert backward_kind(x) == 'ConvolutionBackward0'  # contiguous: no free NDHWC views
    with torch.autocast('cpu', dtype=torch.bfloat16):  # float32 only
        assert backward_kind(channels_last) == 'ConvolutionBackward0'
    with torch.no_grad():
        assert conv(channels_last).grad_fn is None
    with fast_paths.plain_paths():
        assert backward_kind(channels_last) == 'ConvolutionBackward0'


def test_relu_fused_into_folded_convs_only_in_cpu_inference(fused_relu_dtypes):
    plain, fast = twin_backbones('R(2+1)D')
    plain.eval(), fast.eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        expected, out = plain(x), fast(x)
    # stem, conv2_x's (2+1)D halves that fold: each ReLU after a folded conv
    assert len(fused_relu_dtypes) >= 3
    assert set(fused_relu_dtypes) == {torch.float32}
    assert_close(out, expected)
    # with autograd (e.g. saliency maps on an eval model) the fused op, which has no
    # backward, steps aside
    fused_relu_dtypes.clear()
    x_plain, x_fast = x.clone().requires_grad_(), x.clone().requires_grad_()
    plain(x_plain).sum().backward()
    fast(x_fast).sum().backward()
    assert not fused_relu_dtypes
    assert_close(x_fast.grad, x_plain.grad)


def test_fold_batch_norm_is_conv_then_norm():
    torch.manual_seed(0)
    conv = nn.Conv3d(3, 5, 3, padding=1, bias=True)
    for affine in (True, False):
        norm = nn.BatchNorm3d(5, eps=1e-3, affine=affine)
        if affine:
            randomise_norms(norm)
        else:
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
        norm.eval()
        x = torch.randn(2, 3, 4, 6, 6)
        weight, bias = fold_batch_norm(conv.weight, conv.bias, norm)
        assert_close(conv._conv_forward(x, weight, bias), norm(conv(x)), tol=1e-5)


def test_folding_steps_aside_for_forward_hooks(fold_calls):
    torch.manual_seed(0)
    block = conv_norm('3d', fold=True).eval()
    randomise_norms(block)
    x = torch.randn(1, 6, 4, 24, 24)
    folded = block(x)
    assert len(fold_calls) == 1
    seen = []
    handle = block.conv.register_forward_hook(lambda module, args, out: seen.append(out))
    hooked = block(x)
    handle.remove()
    assert len(seen) == 1  # the conv ran as a module, so its hook saw the un-normed output
    assert len(fold_calls) == 1
    assert_close(hooked, folded)


def test_folding_only_where_the_output_outnumbers_the_weight(fold_calls):
    block = conv_norm('3d', fold=True).eval()
    block(torch.randn(1, 6, 4, 8, 8))  # 256 outputs, 1296 weights: the norm runs
    assert not fold_calls


@pytest.mark.parametrize('name', PAPER_NAMES)
def test_every_network_fast_path_equals_plain_path(name, fold_calls):
    plain, fast = twin_backbones(name)  # the defaults: every switch but autocast
    # 32 x 32: conv5's training-mode BatchNorm statistics need more than a handful of
    # values to be well conditioned (at 16 x 16 the plain path alone is 1e-4 off float64).
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        out_plain, out_fast = plain.eval()(x), fast.eval()(x)
    assert fold_calls  # the early, large layers fold
    assert out_fast.is_contiguous()
    assert_close(out_fast, out_plain)
    out_plain, out_fast = plain.train()(x), fast.train()(x)
    assert_close(out_fast, out_plain)
    grad = torch.randn_like(out_plain)
    out_plain.backward(grad)
    out_fast.backward(grad)
    fast_params = dict(fast.named_parameters())
    for param_name, param in plain.named_parameters():
        assert_close(fast_params[param_name].grad, param.grad)


def test_frozen_norm_fine_tuning_gradients_equal(fold_calls):
    # norm_eval keeps BatchNorms in eval mode while training: folded, and differentiable.
    plain, fast = twin_backbones('R(2+1)D', norm_eval=True)
    x = torch.randn(2, 3, 4, 32, 32)
    out_plain, out_fast = plain.train()(x), fast.train()(x)
    assert fold_calls
    assert_close(out_fast, out_plain)
    out_plain.sum().backward()
    out_fast.sum().backward()
    fast_params = dict(fast.named_parameters())
    for param_name, param in plain.named_parameters():
        assert_close(fast_params[param_name].grad, param.grad)


def test_switches_keep_state_dicts_and_weights_follow_the_activation_layout():
    plain, fast = twin_backbones('R(2+1)D')
    bf16 = MODELS.build(paper_backbone('R(2+1)D', **TINY, compute_dtype='bfloat16'))
    keys = list(plain.state_dict())
    assert list(fast.state_dict()) == keys == list(bf16.state_dict())
    for name, tensor in fast.state_dict().items():
        assert torch.equal(tensor, plain.state_dict()[name]), name
        # channels-last conv weights: no call reorders them for channels-last activations
        layout = torch.channels_last_3d if tensor.dim() == 5 else torch.contiguous_format
        assert tensor.is_contiguous(memory_format=layout), name
        assert plain.state_dict()[name].is_contiguous(), name
    fast.eval()(torch.randn(1, 3, 4, 16, 16))
    assert list(fast.state_dict()) == keys  # running the folded path adds nothing
    # checkpoints of either layout load into the other, values unchanged
    plain.load_state_dict(fast.state_dict())
    assert all(tensor.is_contiguous() for tensor in plain.state_dict().values())


def test_bfloat16_compute_dtype(fused_relu_dtypes):
    plain, _ = twin_backbones('R(2+1)D')
    bf16 = MODELS.build(paper_backbone('R(2+1)D', **TINY, compute_dtype='bfloat16'))
    bf16.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        reference, out = plain.eval()(x), bf16.eval()(x)
    if torch.bfloat16 in fast_paths._FUSED_DTYPES:
        # the ReLUs fused into folded convs compute in autocast's dtype too
        assert fused_relu_dtypes and set(fused_relu_dtypes) == {torch.bfloat16}
    else:  # this CPU's oneDNN has no bfloat16 kernels: the plain path computes in bfloat16
        assert not fused_relu_dtypes
    assert out.dtype == torch.float32
    assert_close(out, reference, tol=5e-2)  # bfloat16 keeps 8 bits of mantissa
    bf16.train()(x).sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32
               for p in bf16.parameters())


@pytest.mark.parametrize('switch, value', [('memory_format', 'channels_last'),
                                           ('compute_dtype', 'int8')])
def test_bad_switch_values_are_refused(switch, value):
    with pytest.raises(ValueError, match=switch):
        MODELS.build(paper_backbone('R3D', **TINY, **{switch: value}))



def test_folding_rounds_like_float32_itself(fold_calls):
    """Why ``fold_bn`` is on by default: through 34 layers with trained-like statistics,
    the default fast path lands as close to a float64 reference as the plain path does."""
    plain, fast = twin_backbones('R(2+1)D', depth=34, base_channels=8,
                                 zero_init_residual=False)
    reference = copy.deepcopy(plain).double()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        expected = reference.eval()(x.double())
        plain_error = (plain.eval()(x) - expected).abs().max()
        fast_error = (fast.eval()(x) - expected).abs().max()
    assert fold_calls
    assert fast_error <= 4 * plain_error
    assert fast_error <= 1e-5 * expected.abs().max()


def test_one_switch_turns_every_fast_path_off(fold_calls, fused_relu_dtypes):
    plain, fast = twin_backbones('R(2+1)D')
    x = torch.randn(2, 3, 4, 32, 32)
    with fast_paths.plain_paths():
        assert not fast_paths.fast_paths_active()
        with torch.no_grad():
            out = fast.eval()(x)
        conv = TemporalConv3d(in_channels=4, out_channels=6, temporal_kernel=3).to(
        memory_format=torch.channels_last_3d)
        clip = torch.randn(2, 4, 4, 3, 3).contiguous(memory_format=torch.channels_last_3d)
        assert type(conv(clip).grad_fn).__name__ == 'ConvolutionBackward0'
    assert fast_paths.fast_paths_active()  # the block restores the switch
    assert not fold_calls and not fused_relu_dtypes
    with torch.no_grad():
        assert_close(out, plain.eval()(x))


def test_missing_private_torch_apis_fall_back_to_the_plain_path(monkeypatch, fold_calls):
    """A future torch without the private ops or hook tables still runs, the plain way."""
    monkeypatch.setattr(fast_paths, '_CONV_POINTWISE', None)
    monkeypatch.setattr(fast_paths, '_CONV_BACKWARD', None)
    monkeypatch.setattr(fast_paths, '_GLOBAL_HOOKS', None)
    plain, fast = twin_backbones('R(2+1)D')
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        assert_close(fast.eval()(x), plain.eval()(x))
    assert not fold_calls  # hooks cannot be ruled out, so nothing folds
    fast.train()
    x_fast = x.clone().contiguous(memory_format=torch.channels_last_3d).requires_grad_()
    fast(x_fast).sum().backward()  # training without the tap-wise gradient
    assert x_fast.grad is not None


def test_fast_paths_step_aside_while_a_graph_is_traced(fold_calls, fused_relu_dtypes):
    _, fast = twin_backbones('R(2+1)D')
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        traced = torch.jit.trace(fast.eval(), x, check_trace=False)  # no eager re-run
    assert not fold_calls and not fused_relu_dtypes
    assert 'mkldnn' not in str(traced.inlined_graph)
