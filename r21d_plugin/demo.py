"""The demo: the two ends of the paper's spectrum, f-R2D and R(2+1)D, on the motion dataset.

``r21d-demo`` (``tools/demo.py``) calls ``run_demo``: generate the embedded dataset if
missing, train each network with ``configs/demo/``, test it with the paper's 10-clip
protocol, and print a clip@1 / video@1 table (and plot video accuracy against the number
of clips).
"""
import os.path as osp
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

from .data.prep.motion_dataset import SPLITS, ensure_motion_dataset
from .evaluation import (accuracy_vs_num_clips, clip_scores_from_dump, load_test_dump,
                         plot_accuracy_vs_num_clips)
from .engine.runs import make_test_config, make_train_config, run_test, run_train

#: (paper name, config under configs/demo) from frame-order-blind to fully spatiotemporal.
DEMO_NETWORKS = (
    ('f-R2D', 'fr2d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py'),
    ('R(2+1)D', 'r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py'),
)
TABLE_METRICS = (('clip@1', 'acc/clip@1'), ('video@1', 'acc/video@1'),
                 ('video@5', 'acc/video@5'), ('mean class', 'acc/mean_class_accuracy'))


def motion_data_options(data_root: str) -> dict:
    """``--cfg-options`` that point a motion-dataset config at ``data_root``."""
    options = {}
    for split in SPLITS:
        dataset = f'{split}_dataloader.dataset'
        options[f'{dataset}.ann_file'] = osp.join(data_root, f'{split}.txt')
        options[f'{dataset}.data_prefix.video'] = data_root
    return options


def format_table(rows: Dict[str, dict]) -> str:
    """A Markdown table of the demo's results (accuracies in %)."""
    header = ['network'] + [name for name, _ in TABLE_METRICS] + ['train time']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for network, row in rows.items():
        cells = [network] + [f'{100 * row[key]:.1f}' for _, key in TABLE_METRICS]
        cells.append(f'{row["train_s"] / 60:.1f} min')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def run_demo(data_root: str = 'data/motion',
             work_dir: str = 'work_dirs/demo',
             dataset_size: str = 'demo',
             networks: Optional[Sequence[str]] = None,
             cfg_options: Optional[dict] = None,
             quiet: bool = True) -> Dict[str, dict]:
    """Train and 10-clip test the demo networks; print and return their metrics.

    Args:
        data_root (str): where the motion dataset is (generated there if missing).
        work_dir (str): checkpoints, logs, per-clip score dumps, the table and the plot.
        dataset_size (str): ``'demo'``, or ``'test'`` for a smoke run.
        networks (Sequence[str], optional): a subset of ``'f-R2D'``, ``'R(2+1)D'``.
        cfg_options (dict, optional): overrides applied to every config.
        quiet (bool): replace mmengine's log lines by progress bars (errors still show).

    Returns:
        dict: network -> its test metrics plus ``train_s`` (training wall time).
    """
    chosen = [(name, config) for name, config in DEMO_NETWORKS
              if networks is None or name in networks]
    if not chosen:
        raise ValueError(f'networks must name some of {[n for n, _ in DEMO_NETWORKS]}')
    print(f'Motion dataset ({dataset_size} size) in {data_root}')
    ensure_motion_dataset(data_root, size=dataset_size)
    options = motion_data_options(data_root)
    options['randomness.seed'] = 0
    if quiet:  # the bars show progress; mmengine's deprecation warnings are noise here
        options['log_level'] = 'ERROR'
    options.update(cfg_options or {})

    results: Dict[str, dict] = {}
    curves: Dict[str, Dict[int, float]] = {}
    for step, (network, config) in enumerate(chosen, 1):
        print(f'[{step}/{len(chosen)}] {network}: train, then test with 10 clips per video')
        network_dir = osp.join(work_dir, config[:-len('.py')])
        network_options = dict(options)
        if quiet:
            network_options['custom_hooks'] = [dict(type='ProgressBarHook', desc=network)]
        train_cfg = make_train_config(f'demo/{config}', work_dir=network_dir,
                                      cfg_options=network_options)
        start = time.time()
        run_train(train_cfg)
        train_s = time.time() - start
        checkpoint = Path(network_dir, 'last_checkpoint').read_text().strip()
        dump = osp.join(network_dir, 'clip_scores.pkl')
        metrics = run_test(make_test_config(f'demo/{config}', checkpoint,
                                            work_dir=network_dir, dump=dump,
                                            cfg_options=network_options))
        results[network] = dict(metrics, train_s=train_s)
        curves[network] = accuracy_vs_num_clips(*clip_scores_from_dump(load_test_dump(dump)))
        print(f'{network}: clip@1 {100 * metrics["acc/clip@1"]:.1f}, '
              f'video@1 {100 * metrics["acc/video@1"]:.1f}')

    table = format_table(results)
    plot = osp.join(work_dir, 'accuracy_vs_clips.png')
    plot_accuracy_vs_num_clips(curves, plot)
    Path(work_dir, 'results.md').write_text(table + '\n')
    print('\n' + table)
    print(f'\nChance is {100 / 8:.1f}%. Table: {osp.join(work_dir, "results.md")}; '
          f'video accuracy against the number of clips: {plot}')
    return results


