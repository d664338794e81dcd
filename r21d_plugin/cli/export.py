"""Export a recognizer to ONNX or TorchScript, verified against PyTorch.

    python tools/deployment/export.py CONFIG [CHECKPOINT] --format {onnx,torchscript}
        --out FILE [--clip-len L] [--crop 112] [--batch-size N|dynamic] [--softmax]
        [--verify] [--device cuda:0] [--opset K] [--benchmark [N ...]]
        [--cfg-options KEY=VALUE ...]

The file maps a batch of clips N x C x L x H x W (float32; RGB 0..255, or flow in pixels)
to class scores, the config's normalisation inside the graph; FILE.json says how to feed
it (docs/deploy.md). Exit status: 0 done, 1 verification above tolerance, 2 an option,
config or checkpoint that cannot be exported (the message says why).
"""
import argparse
import os
import sys
from typing import List, Optional

from mmengine.config import DictAction

from r21d_plugin.apis import export
from r21d_plugin.apis.export import ExportError, export_recognizer
from r21d_plugin.apis.loading import RecognizerLoadError
from r21d_plugin.benchmark.runtimes import compare_runtimes, format_runtimes
from r21d_plugin.engine.device import default_device
from r21d_plugin.cli.errors import ToolError, cli_main, positive_int, tool_parser


def _batch_size(text: str) -> Optional[int]:
    if text == 'dynamic':
        return None
    if not text.lstrip('-').isdigit():
        raise argparse.ArgumentTypeError(f'expected a number or "dynamic", got {text!r}')
    return positive_int(text)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = tool_parser(
        description=__doc__.split('\n\n')[0],
        epilog='Exit status: 0 done, 1 verification failed, 2 cannot export.')
    parser.add_model_arguments(
        'the recognizer\'s config file, or a published model\'s name (r21d-list-models)',
        'its weights (default: a published model\'s own; a config\'s initial weights, for '
        'trials)')
    parser.add_argument('--format', dest='fmt', choices=('onnx', 'torchscript'),
                        default='onnx', help='default: onnx')
    parser.add_argument('--out', required=True, help='the file to write (and FILE.json)')
    parser.add_argument('--clip-len', type=positive_int, default=None,
                        help='frames per clip (default: the config\'s)')
    parser.add_argument('--crop', type=positive_int, default=None,
                        help='side of the square crop (default: the config\'s test crop, '
                        'else 112)')
    parser.add_argument('--batch-size', type=_batch_size, default=None,
                        help='N for a fixed batch size (ONNX), or dynamic (default)')
    parser.add_argument('--softmax', action='store_true',
                        help='output probabilities instead of logits')
    parser.add_argument('--verify', action='store_true',
                        help='run the file on random clips at two batch sizes and compare '
                        'with PyTorch (exit 1 above 1e-4 of the scores\' scale), in ONNX '
                        'Runtime and, where installed, OpenVINO')
    parser.add_argument('--device', default=default_device(),
                        help='where PyTorch computes the scores verified against (cpu, '
                        'cuda:0, ...). Default: cuda:0 where torch sees a GPU, else cpu')
    parser.add_argument('--opset', type=positive_int, default=None,
                        help='ONNX opset, 11..20 (default: 17)')
    parser.add_argument('--benchmark', type=positive_int, nargs='*', default=None, metavar='N',
                        help='time the file in ONNX Runtime and OpenVINO (or TorchScript) '
                        'beside PyTorch float32 and bf16 autocast on the CPU, on the same '
                        'clips, at these batch sizes (default: 1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs, e.g. '
                        'model.cls_head.num_classes=101')
    return parser.parse_args(argv)


def _print_export(result) -> None:
    description = result.description
    size_mb = os.path.getsize(result.path) / 1e6
    print(f'export: wrote {result.path} ({description["exporter"]}; {size_mb:.1f} MB) '
          f'and {result.sidecar_path}')
    feed, out = description['input'], description['output']
    print(f'  input  {feed["name"]}: float32 {feed["shape"]} ({feed["layout"]}; '
          f'{feed["values"]}; normalised inside the graph)')
    print(f'  output {out["name"]}: float32 {out["shape"]} ({out["kind"]})')


def _print_verification(result) -> None:
    for row in result.verification:
        print(f'verify: {row["runtime"]} vs PyTorch, batch {row["batch_size"]}: max |diff| '
              f'{row["max_abs_diff"]:.2e} = {row["relative_diff"]:.2e} of the largest '
              f'|score| ({row["scale"]:.3g})')


@cli_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        result = export_recognizer(
            args.config, args.checkpoint, args.out, fmt=args.fmt, clip_len=args.clip_len,
            crop=args.crop, batch_size=args.batch_size, softmax=args.softmax,
            opset=args.opset, verify=args.verify, cfg_options=args.cfg_options,
            device=args.device)
        _print_export(result)
        if args.verify:
            _print_verification(result)
            if not result.passed:
                print(f'verify: FAILED, above the tolerance {export.spec.VERIFY_TOLERANCE:.0e}',
                      file=sys.stderr)
                return 1
            print(f'verify: passed (tolerance {export.spec.VERIFY_TOLERANCE:.0e})')
        if args.benchmark is not None:
            batch_sizes = args.benchmark or [result.spec.batch_size or 1]
            # (the recognizer's config: a published model's name resolved, --cfg-options in)
            rows = compare_runtimes(result.recognizer.cfg, result, batch_sizes, bf16=True)
            print('\n'.join(format_runtimes(rows)))
    except (ExportError, RecognizerLoadError) as error:
        raise ToolError(error) from error
    return 0
