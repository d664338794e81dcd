"""The export's runtimes beside PyTorch, one process per allocator setting, round-robin."""
import pytest
from helpers import random_checkpoint, tiny_recognizer_config

from r21d_plugin.apis.export import ExportError, export_recognizer
from r21d_plugin.benchmark.runtimes import compare_runtimes, format_runtimes


def test_every_runtime_is_timed_in_each_allocator_setting(tmp_path):
    cfg = tiny_recognizer_config()
    checkpoint = random_checkpoint(cfg, tmp_path / 'tiny.pth')
    result = export_recognizer(cfg, str(checkpoint), str(tmp_path / 'tiny.onnx'), crop=32)
    rows = compare_runtimes(cfg, result, warmup=1, iters=1,
                            cpu_mallocs=('keep', 'default'), threads=1)
    runtimes = ['pytorch float32', 'onnxruntime', 'openvino float32']
    assert [(row['runtime'], row['cpu_malloc']) for row in rows] == [
        (runtime, malloc) for malloc in ('keeps freed memory', 'glibc defaults')
        for runtime in runtimes]
    assert all(row['clips_per_s'] == pytest.approx(1 / row['step_s']) for row in rows)
    table = format_runtimes(rows)
    assert table[2].startswith('| pytorch float32 | keeps freed memory | 1 |')
    assert table[2].endswith('| 1.00 |') and table[5].endswith('| 1.00 |')
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        'tiny.onnx', 'tiny.onnx.json', 'tiny.pth']  # the processes' weights are gone
    with pytest.raises(ValueError, match=r"cpu_mallocs must be among \['keep', 'default'\]"):
        compare_runtimes(cfg, result, cpu_mallocs=('jemalloc', ))
    fixed = export_recognizer(cfg, str(checkpoint), str(tmp_path / 'fixed.onnx'), crop=32,
                              batch_size=3)
    with pytest.raises(ExportError, match=r'takes batches of 3 clips only, not \[1\]'):
        compare_runtimes(cfg, fixed, batch_sizes=(1, ))
