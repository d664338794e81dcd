"""The benchmark: our networks' speed beside MMAction2's and torchvision's, and the data's.

One run measures, on one device and one input size, for each compared model:

* inference clips/s (eval mode, no grad) and training-step clips/s (forward, cross-entropy,
  backward, SGD step), each with its peak memory: on CPU the peak resident set size above
  the level before the timed calls (``/proc/self/status`` VmHWM, reset through
  ``/proc/self/clear_refs``; ``ru_maxrss`` where that is not allowed), on CUDA
  ``torch.cuda.max_memory_allocated`` above the memory held before;
* achieved GFLOP/s, from the FLOPs that ``torch.utils.flop_counter`` counts during a warm-up
  call, and its fraction of the machine's peak, measured in the same run (at its start and
  its end, the better kept) as the best of a large matmul and a large 3x3x3 convolution in
  the same precision;
* for MMAction2 backbones (ours and MMAction2's own), the 10-clip test throughput through the
  project's recognizer (``configs/_base_/models/recognizer_rgb.py``): every video's clips go
  through the backbone as one batch.

and, for the data pipeline of the project's Kinetics config on generated videos, training
clips/s and 10-clip test clips/s at the config's worker count, and how many decoder calls
each test video costs; and, for published networks' configs on a generated video, the use
side: the inference tool's videos/s, timeline and feature-extraction windows/s (with the
shares of decoding, preprocessing and the network) and the ONNX export in ONNX Runtime and
OpenVINO beside PyTorch, with and without the CPU allocator setting.

Each network's models are timed round-robin, every other round in reverse order (see
``interleaved_timings``), so that the ratios between them survive a machine shared with
other work; process CPU seconds are kept beside wall seconds.

The peers are built to the same architecture as the network under test, from its own
modules (conv kinds, temporal strides, depth): MMAction2's ``ResNet3d`` (2D and 3D convs)
or ``ResNet2Plus1d`` (its stem max-pool removed; its stem's mid channels and factorised
shortcuts stay MMAction2's), torchvision's ``VideoResNet`` (``r3d_18``, ``mc3_18`` and
``r2plus1d_18`` are such) and, for f-R2D and R2D, torchvision's 2D ``resnet18`` on frames.

Cut by concern: ``settings`` (what a run measures), ``peers`` (the compared models),
``candidates`` (each network's rows), ``timing`` (interleaved timings, FLOPs, memory, the
machine's peak), ``measure`` (the measured steps, one network's rows), ``pipeline`` (the
data pipeline), ``use_side`` (inference, features, export), ``runtimes`` (the export's
runtimes beside PyTorch, a process per allocator setting), ``run`` (a whole run and its
comparison), ``report`` (tables and JSON).
"""
from .report import format_report, save_result
from .run import compare, run_benchmark
from .settings import BenchmarkSettings

__all__ = ['BenchmarkSettings', 'compare', 'format_report', 'run_benchmark', 'save_result']
