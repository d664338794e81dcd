"""The command-line tools: one module per tool, each with ``main(argv=None) -> int``.

Each is a console script (``setup.py``) and, in a checkout, ``tools/<tool>.py`` too:

=============================== ============================================================
console script                  what it does
=============================== ============================================================
r21d-train                      train a recognizer (MMAction2's tools/train.py interface)
r21d-test                       test a checkpoint: clip@1, video@1, video@5, mean class
r21d-demo                       f-R2D vs R(2+1)D on the embedded motion dataset, on CPU
r21d-benchmark                  speed of our networks beside MMAction2's and torchvision's
r21d-convert-weights            published weights (torchvision, VMZ) -> our checkpoints
r21d-extract-flow               Farneback flow in MMAction2's rawframes layout
r21d-check-dataset              decode every entry of an annotation file, report bad ones
r21d-two-stream-checkpoint      merge RGB and flow checkpoints for the two-stream test
r21d-accuracy-vs-clips          video accuracy against the number of clips (Figure 5b)
r21d-model-complexity           parameters, multiply-adds and conv5 size of every network
r21d-generate-motion-dataset    write the embedded motion dataset
r21d-build-sports1m-annotations Sports-1M annotation files from the official split files
=============================== ============================================================

Known user errors (a missing dataset or checkpoint, ...) print one message and exit with
status 2; ``--verbose`` or ``R21D_VERBOSE=1`` shows the traceback (``errors``). A CONFIG
argument is a path or a config name (``r21d_plugin.configs``). docs/tools.md has examples.
"""
