"""Run an ONNX export in a CPU runtime: ONNX Runtime or OpenVINO.

Both read the file ``r21d-export`` writes (``apis.export``) as it is: ONNX Runtime through
its CPU execution provider, OpenVINO by compiling the ONNX file for its CPU plugin
(``ov.Core().compile_model``). ``onnx_runner`` gives a function from a float32 clip batch
to the file's output, so export verification, the benchmark and the use-side tools
(``--runtime``) run a file the same way.

Settings that matter for a fair comparison with PyTorch:

* threads: as many as torch uses (``torch.get_num_threads()``), unless told otherwise;
* ONNX Runtime's threads do not spin after a run (``session.intra_op.allow_spinning=0``):
  spinning threads take the CPU from whatever runs next (the decoding workers of feature
  extraction, the next runtime of an interleaved timing) for a few milliseconds of latency;
* OpenVINO computes in float32 unless asked otherwise: on a CPU with bfloat16 instructions
  (AVX512_BF16, AMX) its default inference precision is bfloat16, which is a different
  computation from the float32 one the file is verified against.
"""
import importlib
from typing import Callable, List, Optional

import torch

#: The runtimes an ONNX export runs in, as ``--runtime`` spells them.
RUNTIMES = ('onnxruntime', 'openvino')
#: Precisions a runtime is asked for (None: the runtime's own default).
PRECISIONS = ('float32', 'bfloat16')
_OPENVINO_PRECISION = {'float32': 'f32', 'bfloat16': 'bf16'}
#: How to install what export and the runtimes need.
DEPLOY_EXTRA_HINT = 'pip install -e .[deploy] (onnx, onnxruntime, openvino)'


class RuntimeUnavailableError(ValueError):
    """A runtime that is not installed, or a setting it does not take; the message says
    what to do."""


def runtime_module(name: str):
    """The module of runtime ``name`` (``onnxruntime`` or ``openvino``)."""
    if name not in RUNTIMES:
        raise RuntimeUnavailableError(f'unknown runtime {name!r}: choose one of '
                                      f'{", ".join(RUNTIMES)}')
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise RuntimeUnavailableError(f'{name} is not installed: the deploy extra installs '
                                      f'it, {DEPLOY_EXTRA_HINT}') from error


def installed_runtimes() -> List[str]:
    """The runtimes of ``RUNTIMES`` that import here."""
    installed = []
    for name in RUNTIMES:
        try:
            runtime_module(name)
        except RuntimeUnavailableError:
            continue
        installed.append(name)
    return installed


def _numpy(clips: torch.Tensor):
    return clips.detach().to('cpu', torch.float32).contiguous().numpy()


def onnx_runner(path: str, runtime: str, threads: Optional[int] = None,
                precision: Optional[str] = 'float32'
                ) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function running the ONNX file ``path`` in ``runtime`` on a batch of clips
    (float32, the file's input shape) and returning its first output as a tensor.

    Args:
        path (str): an ONNX file (one input, e.g. ``r21d-export``'s).
        runtime (str): ``'onnxruntime'`` or ``'openvino'``.
        threads (int, optional): the runtime's compute threads. Default: torch's count.
        precision (str, optional): ``'float32'`` (default) or, for OpenVINO,
            ``'bfloat16'``; None: the runtime's default (OpenVINO: bfloat16 on CPUs with
            bfloat16 instructions).

    Raises:
        RuntimeUnavailableError: the runtime is not installed, or does not take
            ``precision``.
    """
    if precision is not None and precision not in PRECISIONS:
        raise RuntimeUnavailableError(f'precision must be one of {PRECISIONS} or None, '
                                      f'got {precision!r}')
    module = runtime_module(runtime)
    threads = threads or torch.get_num_threads()
    if runtime == 'onnxruntime':
        if precision == 'bfloat16':
            raise RuntimeUnavailableError('ONNX Runtime runs the file in float32 only (its '
                                          'CPU execution provider has no bfloat16 mode)')
        options = module.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        session = module.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        name = session.get_inputs()[0].name
        return lambda clips: torch.from_numpy(session.run(None, {name: _numpy(clips)})[0])
    config = {'INFERENCE_NUM_THREADS': threads}
    if precision is not None:
        config['INFERENCE_PRECISION_HINT'] = _OPENVINO_PRECISION[precision]
    request = module.Core().compile_model(path, 'CPU', config).create_infer_request()

    def run(clips: torch.Tensor) -> torch.Tensor:
        request.infer({0: _numpy(clips)})
        return torch.from_numpy(request.get_output_tensor(0).data.copy())

    return run
