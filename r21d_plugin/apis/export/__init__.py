"""Export a recognizer to ONNX or TorchScript, and check the file against PyTorch.

``spec``: what a file takes and holds (``InputSpec``, ``ClipClassifier``, ``ExportResult``,
which configs can be exported); ``graphs``: capturing the graphs, checking their operators,
running the files and verifying them against PyTorch; ``exporter``: ``export_recognizer``
(its docstring says what is exported, with which exporter, and why). Speed comparisons of
the runtimes are in ``r21d_plugin.benchmark.runtimes``.
"""
from .exporter import describe_export, export_recognizer
from .graphs import (exported_runner, nonstandard_onnx_operators,
                     nonstandard_torchscript_operators, onnx_operators, pytorch_scores,
                     torchscript_operators, verify_export)
from .spec import (DEFAULT_CROP, DEFAULT_OPSET, FORMATS, INPUT_NAME, METADATA_KEY, OPSET_RANGE,
                   VERIFY_TOLERANCE, ClipClassifier, ExportError, ExportResult, InputSpec,
                   check_exportable, input_spec, random_clips, test_sampler)

__all__ = ['DEFAULT_CROP', 'DEFAULT_OPSET', 'FORMATS', 'INPUT_NAME', 'METADATA_KEY',
           'OPSET_RANGE', 'VERIFY_TOLERANCE', 'ClipClassifier', 'ExportError', 'ExportResult',
           'InputSpec', 'check_exportable', 'describe_export', 'export_recognizer',
           'exported_runner', 'input_spec', 'nonstandard_onnx_operators',
           'nonstandard_torchscript_operators', 'onnx_operators', 'pytorch_scores',
           'random_clips', 'test_sampler', 'torchscript_operators', 'verify_export']
