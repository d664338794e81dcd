"""tools/demo.py's pipeline at the tiny size: generate, train, 10-clip test, table, plot."""
from r21d_plugin.demo import format_table, run_demo


def test_demo_smoke_run_prints_the_table(tmp_path, capsys):
    results = run_demo(data_root=str(tmp_path / 'motion'), work_dir=str(tmp_path / 'work'),
                       dataset_size='test', networks=['f-R2D'],
                       cfg_options={'train_cfg.max_epochs': 1,
                                    'model.backbone.base_channels': 8,
                                    'model.cls_head.in_channels': 64})
    assert set(results) == {'f-R2D'}
    row = results['f-R2D']
    assert 0 <= row['acc/clip@1'] <= 1 and 0 <= row['acc/video@1'] <= 1 and row['train_s'] > 0
    out = capsys.readouterr().out
    assert '| network | clip@1 | video@1 |' in out and '| f-R2D |' in out
    assert (tmp_path / 'work' / 'results.md').read_text().strip() == format_table(results)
    assert (tmp_path / 'work' / 'accuracy_vs_clips.png').stat().st_size > 0
