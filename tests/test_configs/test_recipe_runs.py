"""The paper's recipe runs under mmengine's Runner: a Table 2 config, shrunk only in data and
network width, trains two epochs and tests on 10 clips (sampler, schedule, lr scaling,
robust dataset, clip@1 / video@1 metric, checkpoints)."""
import os.path as osp
from contextlib import contextmanager

import cv2
import numpy as np
import pytest
import torch
from mmengine import Config
from mmengine.runner import Runner

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'kinetics',
                  'r2plus1d_r18_8xb32-8x1x1-45e_kinetics400-rgb.py')


@pytest.fixture
def tiny_videos(tmp_path):
    """Three 12-frame 64x48 mp4 videos of classes 0, 1, 2 and their annotation file."""
    rng = np.random.default_rng(0)
    lines = []
    for label in range(3):
        name = f'video{label}.mp4'
        writer = cv2.VideoWriter(str(tmp_path / name), cv2.VideoWriter_fourcc(*'mp4v'), 25,
                                 (64, 48))
        for _ in range(12):
            writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
        writer.release()
        lines.append(f'{name} {label}\n')
    (tmp_path / 'ann.txt').write_text(''.join(lines))
    return tmp_path


def shrunk_recipe(videos, work_dir, max_epochs: int = 2) -> Config:
    """The Table 2 config on the tiny videos, with a depth-10, width-8 network."""
    cfg = Config.fromfile(CONFIG)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=2 if split == 'train' else 1, num_workers=0,
                      persistent_workers=False)
        loader.dataset.update(ann_file=str(videos / 'ann.txt'),
                              data_prefix=dict(video=str(videos)))
    cfg.train_dataloader.sampler.num_samples = 6  # 3 iterations of 2 clips per epoch
    cfg.model.backbone.update(depth=10, base_channels=8)
    cfg.model.cls_head.in_channels = 64
    cfg.train_cfg.update(max_epochs=max_epochs, val_interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.update(work_dir=str(work_dir), randomness=dict(seed=0), launcher='none')
    return cfg


@contextmanager
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_table2_recipe_trains_and_tests(tiny_videos, tmp_path):
    with one_thread():
        runner = Runner.from_cfg(shrunk_recipe(tiny_videos, tmp_path / 'work'))
        runner.train()
        metrics = runner.test()

    # Epochs of num_samples draws, whatever the dataset size.
    assert len(runner.train_dataloader) == 3 and runner.iter == 6
    assert type(runner.train_dataloader.sampler).__name__ == 'FixedLengthEpochSampler'
    # lr 0.08 for 256 clips, scaled to the 2 clips of this run; warm-up from 10% of it,
    # linear per iteration over the first 10 epochs (30 iterations, the full rate reached at
    # the last one): after 6 iterations, 0.1 + 0.9 * 6 / 29 of the scaled rate.
    base_lr = 0.08 * 2 / 256
    assert runner.optim_wrapper.param_groups[0]['initial_lr'] == pytest.approx(base_lr)
    assert runner.optim_wrapper.get_lr()['lr'][0] == pytest.approx(
        base_lr * (0.1 + 0.9 * 6 / 29))
    assert osp.isfile(tmp_path / 'work' / 'epoch_2.pth')
    assert set(metrics) >= {'acc/clip@1', 'acc/video@1', 'acc/video@5'}


def test_compile_switch_trains_the_same_weights(tiny_videos, tmp_path):
    """mmengine's ``compile`` (README, Performance) compiles the recipe's train step and
    trains what the eager step trains. aot_eager: dynamo and AOTAutograd, without
    inductor's minutes of C++ compilation. Two iterations (the second at the warm-up's next
    learning rate) prove what three did."""
    import torch._dynamo

    weights = {}
    with one_thread():
        for compiled in (False, True):
            cfg = shrunk_recipe(tiny_videos, tmp_path / str(compiled), max_epochs=1)
            cfg.train_cfg.val_interval = 2  # no validation
            cfg.train_dataloader.sampler.num_samples = 4  # 2 iterations
            if compiled:
                cfg.compile = dict(backend='aot_eager')
            torch._dynamo.reset()
            runner = Runner.from_cfg(cfg)
            runner.train()
            assert hasattr(runner.model.train_step, '_torchdynamo_orig_callable') == compiled
            weights[compiled] = runner.model.state_dict()
    torch._dynamo.reset()
    for name, eager in weights[False].items():
        if eager.is_floating_point():
            scale = eager.abs().max().clamp_min(1e-6)
            assert ((weights[True][name] - eager).abs().max() / scale) < 1e-4, name
