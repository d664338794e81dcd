"""torch.compile (mmengine's ``compile=True`` switch) traces every conv kind and fast path as
one graph and computes the eager values.

``backend='aot_eager'`` runs dynamo and AOTAutograd (the parts that meet our code: the
BatchNorm folding, the fused conv + ReLU op, the tap-wise weight gradient's autograd
function) without inductor's C++ code generation, which would take minutes on CPU.
"""
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from r21d_plugin import paper_backbone

init_default_scope('mmaction')

# Every conv kind: R2D's collapsing stem and 2D convs, 3D, both mixed orders, (2+1)D.
NETWORKS = ('R2D', 'R3D', 'MC3', 'rMC3', 'R(2+1)D')


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return ((actual - expected).abs().max() / expected.abs().max()).item()


@pytest.fixture
def fresh_dynamo():
    """Each network compiles from scratch: they share code objects (the builder's), which
    would otherwise add up to dynamo's recompile limit."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize('name', NETWORKS)
def test_backbone_compiles_to_one_graph_with_eager_values(name, fresh_dynamo):
    torch.manual_seed(0)
    backbone = MODELS.build(paper_backbone(name, depth=10, clip_len=4, base_channels=8))
    backbone.init_weights()
    compiled = torch.compile(backbone, backend='aot_eager', fullgraph=True)  # no breaks
    clip = torch.randn(2, 3, 4, 32, 32)

    def output_and_grads(model):
        backbone.zero_grad(set_to_none=True)
        out = model(clip)
        out.square().sum().backward()
        return out, [param.grad for param in backbone.parameters()]

    backbone.train()
    eager_out, eager_grads = output_and_grads(backbone)
    compiled_out, compiled_grads = output_and_grads(compiled)
    assert relative_error(compiled_out, eager_out) < 1e-5
    # Within 1e-4 of the gradients' scale (zero-initialised residual norms leave some zero).
    assert relative_error(torch.cat([grad.flatten() for grad in compiled_grads]),
                          torch.cat([grad.flatten() for grad in eager_grads])) < 1e-4

    backbone.eval()  # BatchNorms folded, ReLUs fused into the convs
    with torch.no_grad():
        assert relative_error(compiled(clip), backbone(clip)) < 1e-5
