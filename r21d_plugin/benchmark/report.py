"""The benchmark's report: the tables printed and the JSON saved."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional


from .run import reference_row
from .use_side import format_use_side


def _fmt(value: Optional[float], digits: int = 2) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def format_report(result: Dict[str, object]) -> str:
    """Markdown tables: models, the comparison with the peers, and the data pipeline."""
    settings, machine = result['settings'], result['machine']
    device = machine.get('gpu') or (f"{machine['cpu']} ({machine['torch_threads']} threads, "
                                    f"malloc {machine.get('cpu_malloc', '?')})")
    lines = [
        f"On {device}; torch {machine['torch']}." if not result['rows'] else
        f"Input {settings['clip_len']}x{settings['crop_size']}x{settings['crop_size']}, "
        f"batch {settings['batch_size']}, depth {settings['depth']}, on {device}; "
        f"torch {machine['torch']}.",
        'Peak: ' + ', '.join(
            f"{name} {peak['peak_gflops']:.0f} GFLOP/s (matmul {peak['matmul_gflops']:.0f}, "
            f"conv3d {_fmt(peak['conv3d_gflops'], 0)})" for name, peak in result['peak'].items())
        + '.',
    ]
    rows = result['rows']
    if rows:
        lines += _model_table(rows) + _comparison_table(result['comparison'])
    pipeline = result.get('pipeline')
    if pipeline:
        lines += _pipeline_lines(pipeline, rows)
    if result.get('use_side'):
        lines += format_use_side(result['use_side'])
    return '\n'.join(lines)


def _model_table(rows: List[dict]) -> List[str]:
    lines = [
        '',
        '| network | model | precision | layout | GMAC/clip | infer clips/s | '
        'train clips/s | 10-clip test clips/s | infer GFLOP/s (% peak) | '
        'train GFLOP/s (% peak) | infer / train peak MiB | x ref infer | x ref train |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        reference = reference_row(rows, row['network'])
        infer, train, test = row['inference'], row['training'], row['test']
        ratios = ['-', '-']
        if reference is not None:
            ratios = [_fmt(row[mode]['clips_per_s'] / reference[mode]['clips_per_s'])
                      for mode in ('inference', 'training')]
        lines.append(
            f"| {row['network']} | {row['model']} | {row['precision']} | {row['layout']} | "
            f"{infer['gflop_per_clip'] / 2:.3g} | {infer['clips_per_s']:.3g} | "
            f"{train['clips_per_s']:.3g} | {_fmt(test and test['clips_per_s'])} | "
            f"{_fmt(infer['gflops'], 0)} ({_fmt(100 * infer['fraction_of_peak'], 0)}%) | "
            f"{_fmt(train['gflops'], 0)} ({_fmt(100 * train['fraction_of_peak'], 0)}%) | "
            f"{_fmt(infer['peak_mib'], 0)} / {_fmt(train['peak_mib'], 0)} | {ratios[0]} | "
            f"{ratios[1]} |")
    notes = {row['model']: row['note'] for row in rows if row['note']}
    lines.append('')
    lines += [f'* {model}: {note}.' for model, note in notes.items()]
    if any(row['inference']['peak_mib'] is None for row in rows):
        lines.append("* peak MiB '-': malloc keeps freed memory, so the resident size no "
                     'longer follows the model; `--cpu-malloc default` measures it.')
    lines += [f"* {row['network']} {row['model']}: compile time {row['compile_s']:.0f} s "
              '(first inference and first training call).' for row in rows
              if 'compile_s' in row]
    lines.append('* x ref: clips/s over those of the reference peer (torchvision\'s video '
                 "model, else MMAction2's, float32, as users run them).")
    return lines


def _comparison_table(comparison: List[dict]) -> List[str]:
    lines = ['', '| network | ours | x reference (infer / train) | '
             'x best peer of its precision (infer / train) |', '|---|---|---|---|']
    for entry in comparison:
        cells = []
        for key in ('reference', 'best_peer'):
            if f'inference_x_{key}' not in entry:
                cells.append('no peer')
                continue
            ratios = (f"{entry[f'inference_x_{key}']:.2f}x / "
                      f"{entry[f'training_x_{key}']:.2f}x")
            names = ((entry['reference'], ) if key == 'reference' else tuple(
                dict.fromkeys((entry['inference_best_peer'], entry['training_best_peer']))))
            cells.append(f"{ratios} ({' / '.join(names)})")
        lines.append(f"| {entry['network']} | {entry['model']} | {cells[0]} | {cells[1]} |")
    return lines


def _pipeline_lines(pipeline: dict, rows: List[dict]) -> List[str]:
    decoding = pipeline['test_decoding']
    lines = [
        '',
        f"Data pipeline ({pipeline['data_config']}, {pipeline['workers']} workers, "
        f"{pipeline['videos']} generated {pipeline['video_size']}x{pipeline['video_size']} "
        f"videos of {pipeline['video_frames']} frames): training "
        f"{pipeline['train_clips_per_s']:.1f} clips/s; {pipeline['test_clips_per_video']}-clip "
        f"test {pipeline['test_videos_per_s']:.1f} videos/s = "
        f"{pipeline['test_clips_per_s']:.1f} clips/s; "
        f"{decoding['decoder_calls_per_video']:g} decoder call(s) per test video "
        f"({decoding['frames_per_call']} frames each).",
    ]
    ours = next((row for row in rows if row['model'] == 'ours'), None)
    if ours is not None:
        lines.append(
            f"Model (ours, {ours['network']}): training {ours['training']['clips_per_s']:.3g} "
            f"clips/s, inference {ours['inference']['clips_per_s']:.3g} clips/s; the pipeline "
            f"delivers {pipeline['train_clips_per_s'] / ours['training']['clips_per_s']:.1f}x"
            f" / {pipeline['test_clips_per_s'] / ours['inference']['clips_per_s']:.1f}x "
            'what the model consumes.')
    return lines


def save_result(result: Dict[str, object], path: str) -> None:
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f, indent=2, default=str)
