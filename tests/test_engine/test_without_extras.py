"""Without setup.py's optional extras (``tensorboard``; ``deploy`` for ONNX) the package
imports and trains: a config's TensorBoard logging is dropped with a warning that names the
extra to install."""
import sys
import textwrap

from helpers import run_tool
from mmengine.config import Config

#: Run first in a subprocess: tensorboard, onnx and onnxruntime cannot be imported (``None``
#: in ``sys.modules``), as where they are not installed.
BLOCK_EXTRAS = textwrap.dedent('''
    import sys
    for name in ('tensorboard', 'onnx', 'onnxruntime'):
        sys.modules[name] = None
''')


def _with_tensorboard(tiny_demo_config, tmp_path):
    """The tiny config with the base runtime's TensorBoard logging."""
    cfg = Config.fromfile(tiny_demo_config('R(2+1)D', max_epochs=1))
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend'),
                                   dict(type='TensorboardVisBackend')]
    config = tmp_path / 'tiny_with_tensorboard.py'
    cfg.dump(str(config))
    return config


def test_import_and_training_work_without_the_extras(tiny_demo_config, tmp_path):
    config = _with_tensorboard(tiny_demo_config, tmp_path)
    code = BLOCK_EXTRAS + textwrap.dedent(f'''
        import r21d_plugin, r21d_plugin.apis
        from r21d_plugin.cli.train import main
        assert main([{str(config)!r}, '--work-dir', {str(tmp_path / 'run')!r}]) == 0
        print('LOADED:', sorted(name for name, module in sys.modules.items() if module
                                and name.split('.')[0] in ('tensorboard', 'onnx', 'onnxruntime')))
    ''')
    result = run_tool(sys.executable, '-c', code, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / 'run' / 'epoch_1.pth').is_file()
    assert ('tensorboard is not installed: this run logs without TensorBoard '
            '(pip install "r21d_plugin[tensorboard]" to log to it)') in result.stdout + result.stderr
    assert 'LOADED: []' in result.stdout


def test_training_logs_to_tensorboard_where_it_is_installed(tiny_demo_config, tmp_path):
    from r21d_plugin.engine.runs import make_train_config

    cfg = make_train_config(str(_with_tensorboard(tiny_demo_config, tmp_path)))
    assert [backend['type'] for backend in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend']
