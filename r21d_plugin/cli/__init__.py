"""Command-line tools; each module has ``main(argv=None) -> int`` and a console script.

* ``export`` (``r21d-export``, ``tools/deployment/export.py``): a recognizer to ONNX or
  TorchScript, verified against PyTorch.
"""
