"""tools/benchmark.py: peers built to our architectures, and a whole run on a tiny input."""
import json
import subprocess

import pytest
import torch
from helpers import run_tool
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from r21d_plugin import PAPER_NAMES, paper_backbone
from r21d_plugin.benchmark import BenchmarkSettings, compare
from r21d_plugin.benchmark.candidates import candidates_for
from r21d_plugin.benchmark.peers import (FramewiseClassifier, drop_stem_pool, mmaction_peer_cfg,
                                         torchvision_frames_peer, torchvision_video_peer)
from r21d_plugin.benchmark.timing import interleaved_timings
from r21d_plugin.models.fast_paths import cpu_has_bfloat16_kernels

init_default_scope('mmaction')
FC_400 = 512 * 400 + 400


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_on_meta(name: str):
    with torch.device('meta'):
        return MODELS.build(paper_backbone(name, clip_len=16))


def test_rounds_alternate_their_order():
    """No step always runs right after the same other step (ABBA rounds)."""
    calls = []
    steps = [lambda name=name: calls.append(name) for name in 'abc']
    timings = interleaved_timings(steps, [False] * 3, torch.device('cpu'), warmup=1, iters=4)
    assert ''.join(calls) == 'abc' + 'abc' + 'cba' + 'abc' + 'cba'  # warm-ups, then rounds
    assert [len(timing['seconds']) for timing in timings] == [4, 4, 4]


@pytest.mark.parametrize('name', PAPER_NAMES)
def test_peers_have_our_architecture(name):
    """Same parameter count and conv5 size as ours, network by network (on the meta device)."""
    ours = build_on_meta(name)
    clip = torch.empty(1, 3, 16, 112, 112, device='meta')
    ours_params = num_params(ours) + FC_400
    with torch.device('meta'):
        mm_cfg = mmaction_peer_cfg(ours)
        video = torchvision_video_peer(ours, 400)
        frames = torchvision_frames_peer(ours, 400)
        assert (mm_cfg is None) == (name == 'R2D')  # ResNet3d cannot collapse time
        if mm_cfg is not None:
            mm = drop_stem_pool(MODELS.build(mm_cfg))
            assert mm(clip).shape == ours(clip).shape
            if name != 'R(2+1)D':  # MMAction2's (2+1)D stem and shortcuts differ
                assert num_params(mm) + FC_400 == ours_params
        assert (video is None) == (name == 'R2D')
        if video is not None and name != 'R(2+1)D':
            assert num_params(video) == ours_params
        assert (frames is not None) == (name in ('R2D', 'f-R2D'))
        if frames is not None:
            assert num_params(frames) == ours_params


def test_torchvision_peers_are_torchvisions_models():
    from torchvision.models.video import mc3_18, r2plus1d_18, r3d_18

    with torch.device('meta'):
        for name, reference in (('R3D', r3d_18), ('MC3', mc3_18)):
            assert num_params(torchvision_video_peer(build_on_meta(name), 400)) == \
                num_params(reference())
        ours = MODELS.build(paper_backbone('R(2+1)D', clip_len=16,
                                           mid_channels_rule='per_block'))
        peer = torchvision_video_peer(ours, 400)
        assert num_params(peer) == num_params(r2plus1d_18()) == num_params(ours) + FC_400


def test_framewise_peer_is_frame_average():
    torch.manual_seed(0)
    net2d = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(4, 5))
    clip = torch.randn(2, 3, 4, 8, 8)
    expected = torch.stack([net2d(clip[:, :, t]) for t in range(4)]).mean(dim=0)
    for layout in (torch.contiguous_format, torch.channels_last_3d):
        actual = FramewiseClassifier(net2d)(clip.contiguous(memory_format=layout))
        assert torch.allclose(actual, expected, atol=1e-6)


def test_compiled_rows_are_compared_with_compiled_peers():
    settings = BenchmarkSettings(compile=True, plain=False, pipeline=False)
    compiled = {row.label: row.compile for row in candidates_for(settings, 'R(2+1)D')}
    assert compiled == {
        'ours': False, 'ours compiled': True, 'ours tv-mids': False,
        'mmaction2 ResNet2Plus1d': False, 'mmaction2 ResNet2Plus1d compiled': True,
        'torchvision r2plus1d_18': False, 'torchvision r2plus1d_18 compiled': True}

    def row(model, family, compiled, clips_per_s):
        figures = dict(clips_per_s=clips_per_s)
        return dict(network='R3D', model=model, family=family, precision='float32',
                    layout='contiguous', compiled=compiled, inference=figures,
                    training=figures)

    comparison = compare([
        row('ours', 'ours', False, 2.0), row('ours compiled', 'ours', True, 3.0),
        row('tv', 'torchvision', False, 1.0), row('tv compiled', 'torchvision', True, 4.0)])
    eager, compiled_entry = comparison
    assert (eager['inference_best_peer'], eager['inference_x_best_peer']) == ('tv', 2.0)
    assert (compiled_entry['training_best_peer'],
            compiled_entry['training_x_best_peer']) == ('tv compiled', 0.75)
    # the reference stays the peer as users run it, eager
    assert eager['reference'] == compiled_entry['reference'] == 'tv'


def test_compiled_rows_run_compiled_network_after_network(monkeypatch):
    """Compiled rows keep their twin's FLOPs and report compile time, and every network
    compiles afresh: the models share code objects, so without dynamo's reset between
    networks the next one would pass the recompile limit (set to 2 here, one network's
    train and eval graphs) and silently run eager. aot_eager: no minutes of C++ codegen."""
    import functools

    import torch._dynamo

    from r21d_plugin import benchmark
    monkeypatch.setattr(torch, 'compile',
                        functools.partial(torch.compile, backend='aot_eager'))
    settings = BenchmarkSettings(
        networks=('R3D', 'MC3'), depth=10, clip_len=4, crop_size=32, batch_size=2,
        base_channels=4, num_classes=5, threads=1, plain=False, compile=True, peers=(),
        warmup=1, iters=1, test_clips=0, pipeline=False, use_side=False)
    torch._dynamo.reset()
    threads = torch.get_num_threads()  # the run sets its own, process-wide
    try:
        with torch._dynamo.config.patch(recompile_limit=2, fail_on_recompile_limit_hit=True):
            result = benchmark.run_benchmark(settings, progress=False)
    finally:
        torch.set_num_threads(threads)
        torch._dynamo.reset()
    for network in settings.networks:
        rows = {row['model']: row for row in result['rows'] if row['network'] == network}
        assert rows['ours compiled']['compiled'] and not rows['ours']['compiled']
        assert rows['ours compiled']['compile_s'] > 0
        for mode in ('inference', 'training'):
            assert (rows['ours compiled'][mode]['gflop_per_clip']
                    == rows['ours'][mode]['gflop_per_clip'])


def run_benchmark_tool(*args: str) -> subprocess.CompletedProcess:
    result = run_tool('tools/benchmark.py', *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


TINY_RUN = ('--network', 'R(2+1)D', '--depth', '10', '--clip-len', '4', '--crop-size', '32',
            '--batch-size', '2', '--base-channels', '4', '--num-classes', '5', '--threads',
            '1', '--warmup', '1', '--iters', '1', '--no-progress')


def test_tool_runs_end_to_end_and_writes_json(tiny_recognizers, tmp_path):
    out = tmp_path / 'bench.json'
    config, _ = tiny_recognizers['rgb']
    result = run_benchmark_tool(
        *TINY_RUN, '--amp', 'bf16', '--channels-last', '--test-clips', '3',
        '--pipeline-videos', '2', '--video-size', '32', '--video-frames', '12',
        '--pipeline-batches', '1', '--workers', '0', '--use-config', config,
        '--use-seconds', '1', '--use-video-size', '48', '64', '--runtime-malloc', 'keep',
        '--json', str(out))
    assert '| R(2+1)D | ours | float32 | channels_last_3d |' in result.stdout
    report = json.loads(out.read_text())
    assert report['machine']['torch_threads'] == 1
    assert report['machine']['cpu_malloc'] == 'keeps freed memory'  # as our tools run
    assert set(report['peak']) == {'float32', 'bfloat16'}
    for peak in report['peak'].values():
        measured = [peak[key] for key in ('matmul_gflops', 'conv3d_gflops') if peak[key]]
        assert peak['peak_gflops'] == max(measured) > 0
    rows = {row['model']: row for row in report['rows']}
    assert set(rows) == {
        'ours', 'ours plain', 'ours bf16', 'mmaction2 ResNet2Plus1d',
        'mmaction2 ResNet2Plus1d channels_last', 'mmaction2 ResNet2Plus1d bf16',
        'mmaction2 ResNet2Plus1d channels_last bf16'}
    assert rows['ours bf16']['precision'] == 'bfloat16'
    assert rows['mmaction2 ResNet2Plus1d channels_last']['layout'] == 'channels_last_3d'
    for row in rows.values():
        for mode in ('inference', 'training'):
            figures = row[mode]
            assert figures['clips_per_s'] > 0
            assert figures['peak_mib'] is None  # not measurable while malloc keeps memory
            assert len(figures['seconds']) == 1
            assert 0 < figures['fraction_of_peak']
            assert figures['gflops'] == pytest.approx(
                figures['gflop_per_clip'] * 2 / figures['step_s'])  # 2 clips a step
        # the FLOPs counted are the model's: the same in every precision and layout
    assert rows['ours']['training']['gflop_per_clip'] > 2 * rows['ours']['inference'][
        'gflop_per_clip']
    assert rows['ours bf16']['inference']['gflop_per_clip'] == pytest.approx(
        rows['ours']['inference']['gflop_per_clip'])
    test = rows['ours']['test']
    # every video's 3 clips go through the backbone as one batch
    assert test['backbone_calls_per_batch'] == 1 and test['backbone_batch_sizes'] == [3]
    assert test['clips_per_s'] == pytest.approx(3 * test['videos_per_s'])
    assert rows['ours plain']['test'] is None
    comparison = {entry['model']: entry for entry in report['comparison']}
    assert comparison['ours']['reference'] == 'mmaction2 ResNet2Plus1d'
    assert comparison['ours bf16']['inference_best_peer'] in (
        'mmaction2 ResNet2Plus1d bf16', 'mmaction2 ResNet2Plus1d channels_last bf16')
    pipeline = report['pipeline']
    assert pipeline['workers'] == 0 and pipeline['videos'] == 2
    assert pipeline['train_clips_per_s'] > 0 and pipeline['test_clips_per_s'] > 0
    assert pipeline['test_clips_per_video'] == 10  # the config's 10-clip test
    # each test video is decoded by one call for all its 10 x 4 frames
    decoding = pipeline['test_decoding']
    assert decoding['decoder_calls_per_video'] == 1
    assert decoding['frames_per_call'] == [40]
    assert decoding['inputs_shape'] == [[10, 3, 4, 112, 112]]

    use_side = report['use_side']
    assert use_side['video'] == dict(seconds=1, fps=30, height=48, width=64, frames=30)
    (entry, ) = use_side['configs']
    assert entry['config'] == config
    # 30 frames: the tiny config's 10 test clips; windows of 8 frames 2 apart (span 15)
    # every 16 frames: starts 0 only
    inference = entry['inference']
    assert (inference['frames'], inference['clips_per_video'], inference['windows']) == (
        30, 10, 1)
    assert set(entry['extraction']) == {'float32', 'bfloat16'}
    for row in entry['extraction'].values():
        assert row['windows'] == 1 and row['windows_per_s'] > 0
        assert row['decode_share'] + row['prepare_share'] + row['model_share'] == (
            pytest.approx(1))
    bf16 = ['openvino bfloat16'] if cpu_has_bfloat16_kernels() else []
    assert [(row['runtime'], row['cpu_malloc']) for row in entry['export']['rows']] == [
        (runtime, 'keeps freed memory') for runtime in [
            'pytorch float32', 'pytorch bf16 autocast', 'onnxruntime', 'openvino float32']
        + bf16]
    assert f"{config}, exported to ONNX, batch 1:" in result.stdout
    assert "| onnxruntime | keeps freed memory | 1 |" in result.stdout
    assert f"| {config} | bfloat16 |" in result.stdout


def test_glibc_default_malloc_run_measures_peak_memory(tmp_path):
    out = tmp_path / 'bench.json'
    run_benchmark_tool(*TINY_RUN, '--cpu-malloc', 'default', '--peers', '--no-plain',
                       '--test-clips', '0', '--no-pipeline', '--no-use-side', '--json', str(out))
    report = json.loads(out.read_text())
    assert report['machine']['cpu_malloc'] == 'glibc defaults'
    assert [row['model'] for row in report['rows']] == ['ours']
    for mode in ('inference', 'training'):
        assert report['rows'][0][mode]['peak_mib'] >= 0


def test_report_names_the_malloc_setting_in_effect(monkeypatch):
    # An earlier train/test run in the same process already kept freed memory: a
    # 'default' run cannot undo that and must not claim glibc's defaults.
    from r21d_plugin import benchmark
    from r21d_plugin.engine import cpu_memory
    monkeypatch.setattr(cpu_memory, '_applied', True)
    result = benchmark.run_benchmark(
        benchmark.BenchmarkSettings(networks=(), cpu_malloc='default', pipeline=False,
                                    use_side=False),
        progress=False)
    assert result['machine']['cpu_malloc'] == 'keeps freed memory'
