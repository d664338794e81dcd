"""One benchmark run: the machine, every network's rows measured, and their comparison."""
import os
import platform
import re
from dataclasses import asdict
from typing import Callable, Dict, List, Optional

import torch

from ..engine.cpu_memory import keep_freed_memory, keeps_freed_memory
from .candidates import candidates_for
from .measure import measure_network
from .pipeline import measure_pipeline
from .settings import AMP_DTYPES, BenchmarkSettings, PRECISION_NAMES, config_name
from .timing import measure_peak
from .use_side import measure_use_side


def machine_info(device: torch.device) -> Dict[str, object]:
    info = dict(python=platform.python_version(), torch=torch.__version__,
                platform=platform.platform(), cpu=_cpu_name(), cpu_count=os.cpu_count(),
                torch_threads=torch.get_num_threads())
    try:
        import torchvision
        info['torchvision'] = torchvision.__version__
    except ImportError:
        info['torchvision'] = None
    import mmaction
    info['mmaction2'] = mmaction.__version__
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
        info['cuda'] = torch.version.cuda
        info['cudnn'] = torch.backends.cudnn.version()
        info['cudnn_benchmark'] = torch.backends.cudnn.benchmark
    if hasattr(os, 'getloadavg'):
        info['load_average_start'] = os.getloadavg()
    return info


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            match = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
        if match:
            return match.group(1).strip()
    except OSError:
        pass
    return platform.processor()


def reference_row(rows: List[dict], network: str) -> Optional[dict]:
    """The peer as users run it: torchvision's video model, else MMAction2's, float32,
    eager."""
    plain_peers = [row for row in rows if row['network'] == network
                   and row['family'] != 'ours' and row['precision'] == 'float32'
                   and row['layout'] == 'contiguous' and not row['compiled']]
    for family in ('torchvision', 'mmaction2'):
        for row in plain_peers:
            if row['family'] == family and '2D' not in row['model']:
                return row
    return plain_peers[0] if plain_peers else None


def compare(rows: List[dict]) -> List[dict]:
    """Each of our rows against the reference peer and the best peer of its precision
    (a compiled row against compiled peers, an eager one against eager peers)."""
    summary = []
    for row in rows:
        if row['family'] != 'ours':
            continue
        entry = dict(network=row['network'], model=row['model'], precision=row['precision'])
        reference = reference_row(rows, row['network'])
        peers = [peer for peer in rows if peer['network'] == row['network']
                 and peer['family'] != 'ours' and peer['precision'] == row['precision']
                 and peer['compiled'] == row['compiled']]
        for mode in ('inference', 'training'):
            if reference is not None:
                entry['reference'] = reference['model']
                entry[f'{mode}_x_reference'] = (row[mode]['clips_per_s']
                                               / reference[mode]['clips_per_s'])
            if peers:
                best = max(peers, key=lambda peer: peer[mode]['clips_per_s'])
                entry[f'{mode}_best_peer'] = best['model']
                entry[f'{mode}_x_best_peer'] = (row[mode]['clips_per_s']
                                               / best[mode]['clips_per_s'])
        summary.append(entry)
    return summary


def run_benchmark(settings: BenchmarkSettings, progress: bool = True,
                  on_update: Optional[Callable[[Dict[str, object]], None]] = None
                  ) -> Dict[str, object]:
    """Measure every row of every network, the machine's peak, and the data pipeline.

    ``on_update`` receives the result so far after each phase (``complete`` False)
    and at the end, e.g. to save it: a run cut short still leaves what it measured.
    """
    from mmengine.registry import init_default_scope
    from tqdm import tqdm

    init_default_scope('mmaction')
    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.cpu_malloc == 'keep':
        keep_freed_memory()
    device = torch.device(settings.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    result: Dict[str, object] = dict(settings=_settings_dict(settings),
                                     machine=machine_info(device), complete=False)
    # What is in effect: 'default' cannot undo an earlier keep_freed_memory in this process.
    result['machine']['cpu_malloc'] = ('keeps freed memory' if keeps_freed_memory()
                                       else 'glibc defaults')
    precisions = {'float32': torch.float32}
    for amp in settings.amp:
        precisions[PRECISION_NAMES[AMP_DTYPES[amp]]] = AMP_DTYPES[amp]
    peaks = {name: measure_peak(device, dtype) for name, dtype in precisions.items()}
    result['peak'] = peaks
    rows: List[dict] = []
    result.update(rows=rows, comparison=[])
    for network in tqdm(settings.networks, desc='networks', unit='network',
                        disable=not progress or len(settings.networks) < 2):
        start = len(rows)

        def publish(partial: List[dict], start: int = start) -> None:
            rows[start:] = partial
            if on_update is not None:
                on_update(result)

        publish(measure_network(candidates_for(settings, network), settings, device, peaks,
                                on_phase=publish))
    if rows:  # the peak again, under the load of the end of the run; the better counts
        for name, dtype in precisions.items():
            again = measure_peak(device, dtype)
            if again['peak_gflops'] > peaks[name]['peak_gflops']:
                peaks[name] = again
        for row in rows:
            for mode in ('inference', 'training'):
                row[mode]['fraction_of_peak'] = (row[mode]['gflops']
                                                 / peaks[row['precision']]['peak_gflops'])
    result['comparison'] = compare(rows)
    if settings.pipeline:
        result['pipeline'] = measure_pipeline(settings)
        if on_update is not None:
            on_update(result)
    if settings.use_side and settings.use_configs:

        def publish_use_side(use_side: Dict[str, object]) -> None:
            result['use_side'] = use_side
            if on_update is not None:
                on_update(result)

        measure_use_side(settings, progress, on_config=publish_use_side)
    if hasattr(os, 'getloadavg'):
        result['machine']['load_average_end'] = os.getloadavg()
    result['complete'] = True
    if on_update is not None:
        on_update(result)
    return result


def _settings_dict(settings: BenchmarkSettings) -> Dict[str, object]:
    values = asdict(settings)
    values['networks'] = list(settings.networks)
    values['amp'] = list(settings.amp)
    values['peers'] = list(settings.peers)
    values['data_config'] = config_name(values['data_config'])
    values['use_configs'] = [config_name(path) for path in settings.use_configs]
    values['use_video_size'] = list(settings.use_video_size)
    values['runtime_cpu_mallocs'] = list(settings.runtime_cpu_mallocs)
    return values
