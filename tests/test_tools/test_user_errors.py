"""A missing dataset or a missing / unreadable checkpoint stops the real tools (train, test, the
dist wrappers, the converters) with one short message and status 2, without a traceback unless
asked for; other errors keep theirs; mmcv-lite's ops warning is not printed."""
import importlib
from pathlib import Path

import pytest
from helpers import SCRIPTS, cli_tools, run_tool, sports1m_not_prepared, write_annotation

from r21d_plugin.cli.errors import VERBOSE_ENV, cli_main, tool_name
from r21d_plugin.data.robust import RobustVideoDataset
from r21d_plugin.engine.preflight import DatasetNotPreparedError

REPO = Path(__file__).resolve().parents[2]
DEMO = 'r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb'  # reads data/motion


def fails_with(result, message: str) -> None:
    """Status 2 and ``message`` last on stderr, without a traceback or mmcv-lite's warning."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.endswith(message + '\n'), result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    assert 'MultiScaleDeformableAttention' not in result.stderr


@pytest.fixture(scope='module')
def config(tiny_demo_config):
    return tiny_demo_config()


def test_the_headline_command_run_outside_the_checkout_says_how_to_prepare_sports1m(tmp_path):
    script = SCRIPTS / 'r21d-train'
    assert script.exists(), 'console scripts come with `pip install -e .` (tools/setup.sh)'
    result = run_tool(script, 'r2plus1d34_sports1m', cwd=tmp_path)
    fails_with(result, 'r21d-train: error: ' + sports1m_not_prepared(tmp_path))
    assert result.stdout == ''  # stopped before the runner's environment report


def test_dist_train_checks_once_before_starting_the_processes(tmp_path):
    result = run_tool('bash', REPO / 'tools/dist_train.sh', DEMO, 2, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        'r21d-train: error: the motion dataset is not prepared: data/motion/train.txt, the '
        f'annotation file of train_dataloader, does not exist (relative to {tmp_path}).\n'
        'Prepare the motion dataset with r21d-generate-motion-dataset --out data/motion '
        '(from a checkout: python tools/data/generate_motion_dataset.py --out data/motion).\n')


def test_test_names_a_missing_checkpoint_and_what_was_expected(config, tmp_path):
    result = run_tool(REPO / 'tools/test.py', config, 'epoch_9.pth', cwd=tmp_path)
    fails_with(result, (
        f'r21d-test: error: checkpoint not found: epoch_9.pth (relative to {tmp_path}), the '
        'checkpoint to test. Expected a .pth file a training run saved '
        '(work_dirs/<config>/epoch_N.pth or best_*.pth) or weights converted with '
        'r21d-convert-weights.'))


@pytest.mark.parametrize('options, role', [
    (['--resume', 'gone/epoch_3.pth'],
     'the checkpoint to resume from (--resume). Expected a checkpoint an earlier run of this '
     'config saved (work_dirs/<config>/epoch_N.pth); --resume without a path resumes from the '
     'latest one of the work dir.'),
    (['--cfg-options', 'load_from=gone/epoch_3.pth'],
     'load_from, the weights this run starts from. Expected a .pth file a training run saved, '
     'or published weights converted with r21d-convert-weights.'),
])
def test_train_names_a_missing_checkpoint_to_start_from(config, tmp_path, options, role):
    result = run_tool(REPO / 'tools/train.py', config, '--work-dir', tmp_path / 'work',
                      *options, cwd=tmp_path)
    fails_with(result, 'r21d-train: error: checkpoint not found: gone/epoch_3.pth (relative to '
               f'{tmp_path}), {role}')


def test_an_unreadable_checkpoint_stops_a_test_and_a_distributed_test(config, tmp_path):
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'PK\x03\x04' + bytes(100))  # a zip archive cut short
    message = (f'r21d-test: error: {checkpoint} is not a readable checkpoint (truncated or '
               'corrupt?): PytorchStreamReader failed reading zip archive: failed finding '
               'central directory. Expected a file written by torch.save, as training runs '
               'and r21d-convert-weights write them.')
    # One process: mmengine's runner loads it.
    fails_with(run_tool(REPO / 'tools/test.py', config, checkpoint, '--work-dir',
                        tmp_path / 'work', cwd=tmp_path), message)
    # Two: the dry run before the launch reads it.
    result = run_tool('bash', REPO / 'tools/dist_test.sh', config, checkpoint, 2, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr == message + '\n'


def test_the_converter_names_a_missing_source(tmp_path):
    result = run_tool(REPO / 'tools/convert_weights.py', 'r2plus1d_18.pth', 'out.pth',
                      '--source', 'torchvision', cwd=tmp_path)
    fails_with(result, (
        'r21d-convert-weights: error: checkpoint not found: r2plus1d_18.pth (relative to '
        f"{tmp_path}), the published checkpoint to convert. Expected torchvision's or "
        "ig65m-pytorch's (VMZ-pt) .pth, or a VMZ Caffe2 .pkl, as --source says."))


@pytest.mark.parametrize('tool', cli_tools())
def test_every_tool_has_the_verbose_flag(tool, capsys):
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(f'r21d_plugin.cli.{tool}').main(['--help'])
    assert exit_.value.code == 0
    assert '--verbose' in capsys.readouterr().out


@pytest.fixture
def single_machine(monkeypatch):
    for name in ('LOCAL_RANK', 'SLURM_LOCALID', VERBOSE_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


#: What cli_main names the tools this module defines (r21d-infer for cli/infer.py's main).
TOOL = tool_name(__name__)
assert TOOL == 'r21d-test-user-errors'


@cli_main
def not_prepared(argv):
    raise DatasetNotPreparedError('data/x/train.txt does not exist')


@pytest.mark.parametrize('env, printed', [
    ({}, True),
    ({'LOCAL_RANK': '1'}, False),  # torchrun's second process
    ({'SLURM_LOCALID': '3'}, False),  # srun's fourth task on its machine
    ({'LOCAL_RANK': '0', 'SLURM_LOCALID': '2'}, True),  # torchrun inside an allocation
])
def test_every_process_stops_and_the_first_of_each_machine_says_why(single_machine, capsys,
                                                                    env, printed):
    for name, value in env.items():
        single_machine.setenv(name, value)
    assert not_prepared([]) == 2
    assert capsys.readouterr().err == (f'{TOOL}: error: data/x/train.txt does not exist\n'
                                       if printed else '')


def test_the_traceback_on_request_and_for_unknown_errors(single_machine):
    with pytest.raises(DatasetNotPreparedError):
        not_prepared(['--verbose'])
    single_machine.setenv(VERBOSE_ENV, '1')
    with pytest.raises(DatasetNotPreparedError):
        not_prepared([])
    single_machine.delenv(VERBOSE_ENV)

    @cli_main
    def buggy(argv):
        raise KeyError('a bug')

    with pytest.raises(KeyError):
        buggy([])


def test_a_malformed_annotation_file_is_told_the_same_way(single_machine, tmp_path, capsys):
    ann = write_annotation(tmp_path / 'train.txt', ['a.mp4 0', 'b.mp4 zero'])

    @cli_main
    def load(argv):
        RobustVideoDataset(ann_file=str(ann), pipeline=[])

    assert load([]) == 2
    assert capsys.readouterr().err == (
        f'{TOOL}: error: 1 bad line(s) in annotation file {ann}:\n'
        f"  {ann}:2: label 'zero' is not an integer: 'b.mp4 zero'\n")
