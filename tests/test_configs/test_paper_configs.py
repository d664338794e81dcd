"""The configs that reproduce the paper: every one loads, is consistent with itself, builds
its model, trains and predicts on a tiny batch, and runs its pipelines on a tiny video.

Cheap by construction: every backbone is built on the meta device (no memory, no init) and
the configs are grouped by its printed module tree; one real model per group (the same
modules, hence the same computation; only the fc width may differ) trains and predicts on
16x16 inputs of the group's shortest clip length. Pipelines run once per distinct set of
(train, val, test) pipelines, on a 50-frame 64x48 video.
"""
import functools
import glob
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine import Config
from mmengine.registry import init_default_scope

import r21d_plugin
from mmaction.registry import DATASETS, METRICS, MODELS
from mmaction.structures import ActionDataSample
from r21d_plugin.models.presets import PAPER_TABLE2_PARAMS_M
from r21d_plugin.zoo import is_zoo_url, model_info
from helpers import CONFIG_NAME

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
EXPERIMENT_DIRS = ('kinetics', 'sports1m', 'ucf101', 'hmdb51')
#: An experiment config only combines bases and states what differs.
MAX_EXPERIMENT_LINES = 16
#: Test clips actually run here (the configs' 10 / 100 are checked, not decoded).
MAX_TEST_CLIPS_RUN = 3
FAMILIES = {'r2d': 'R2D', 'fr2d': 'f-R2D', 'r3d': 'R3D', 'r2plus1d': 'R(2+1)D',
            **{f'mc{x}': f'MC{x}' for x in range(2, 6)},
            **{f'rmc{x}': f'rMC{x}' for x in range(2, 6)}}
#: Epoch sizes (clips) of the paper (Kinetics, Sports-1M) and VMZ (UCF101, HMDB51).
EPOCH_SIZE = {'kinetics400': 1_000_000, 'sports1m': 1_000_000, 'ucf101': 100_000,
              'hmdb51': 40_000}


def _rel(path):
    return osp.relpath(path, CONFIGS)


EXPERIMENTS = sorted(
    [_rel(p) for d in EXPERIMENT_DIRS for p in glob.glob(osp.join(CONFIGS, d, '*.py'))] +
    ['r2plus1d34_sports1m.py'])
#: The network bases, {family}_r{18,34}[_flow].py (recognizer_*.py are what they share).
MODEL_BASES = sorted(_rel(p) for p in glob.glob(osp.join(CONFIGS, '_base_/models/*.py'))
                     if re.fullmatch(r'[a-z0-9]+_r(18|34)(_flow)?\.py', osp.basename(p)))


@functools.lru_cache(maxsize=None)
def load(rel_path: str) -> Config:
    return Config.fromfile(osp.join(CONFIGS, rel_path))


def single_stream(rel_path: str) -> bool:
    """Configs of one recognizer (the two-stream ones have their own tests)."""
    return load(rel_path).model.type == 'MultiClipRecognizer3D'


SINGLE_STREAM = [p for p in EXPERIMENTS if single_stream(p)]


def _steps(pipeline, step_type):
    return [step for step in pipeline if step['type'] == step_type]


def _sampler(pipeline):
    (sampler, ) = _steps(pipeline, 'SampleFrames')
    return sampler


def _is_flow(pipeline) -> bool:
    return bool(_steps(pipeline, 'FarnebackFlow'))


def _dataset_name(cfg) -> str:
    return osp.basename(osp.dirname(cfg.train_dataloader.dataset.ann_file)) or 'unknown'


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmaction')


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    """Tiny convolutions: one thread is faster, and much faster on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_every_paper_row_has_a_config():
    names = set(EXPERIMENTS)
    expected = {f'kinetics/{fam}_r18_8xb32-{length}x1x1-45e_kinetics400-rgb.py'
                for fam in FAMILIES for length in (8, 16)}  # Table 2
    expected |= {f'kinetics/r2plus1d_r18_8xb32-{length}x1x1-45e_kinetics400-rgb.py'
                 for length in (24, 32, 40, 48)}  # Figure 5a
    expected |= {  # Table 3
        'kinetics/r2plus1d_r18_8xb32-8x1x1-45e_kinetics400-rgb-32x1x10-test.py',
        'kinetics/r2plus1d_8x1x1-pretrained-r18_8xb32-32x1x1-15e_kinetics400-rgb.py'}
    expected |= {f'sports1m/r2plus1d_r34_8xb32-{length}x1x1-45e_sports1m-{mod}.py'
                 for length in (8, 32) for mod in ('rgb', 'flow')}  # Table 4
    expected |= {'sports1m/r3d_r34_8xb32-8x1x1-45e_sports1m-rgb.py'}
    for mod in ('rgb', 'flow'):  # Table 5
        expected |= {f'kinetics/r2plus1d_r34_8xb32-32x1x1-45e_kinetics400-{mod}.py',
                     f'kinetics/r2plus1d_sports1m-pretrained-r34_8xb32-32x1x1-15e_'
                     f'kinetics400-{mod}.py'}
    expected |= {f'{ds}/r2plus1d_{pre}-pretrained-r34_8xb4-32x1x1-8e_{ds}-split{k}-{mod}.py'
                 for ds in ('ucf101', 'hmdb51') for pre in ('sports1m', 'kinetics400')
                 for k in (1, 2, 3) for mod in ('rgb', 'flow')}  # Table 6
    assert expected <= names, sorted(expected - names)
    assert len(expected) == 63


def test_entry_point():
    cfg = load('r2plus1d34_sports1m.py')
    assert cfg.model.backbone.type == 'ResNet2Plus1dHomog'
    assert (cfg.model.backbone.depth, cfg.model.backbone.in_channels) == (34, 3)
    assert cfg.model.backbone.clip_len == _sampler(cfg.train_pipeline).clip_len == 8
    assert cfg.model.cls_head.num_classes == 487
    assert _sampler(cfg.test_pipeline).num_clips == 100


@pytest.mark.parametrize('rel_path', SINGLE_STREAM)
def test_experiment_is_small(rel_path):
    with open(osp.join(CONFIGS, rel_path)) as f:
        lines = f.read().splitlines()
    assert len(lines) <= MAX_EXPERIMENT_LINES, (
        f'{rel_path} has {len(lines)} lines: shared settings belong in configs/_base_')


@pytest.mark.parametrize('rel_path', SINGLE_STREAM)
def test_experiment_is_consistent(rel_path):
    cfg = load(rel_path)
    backbone, head = cfg.model.backbone, cfg.model.cls_head
    train, val, test = (cfg[f'{s}_dataloader'].dataset.pipeline
                        for s in ('train', 'val', 'test'))
    # The dataloaders run the pipelines the config names (mmaction's inference reads these).
    assert (train, val, test) == (cfg.train_pipeline, cfg.val_pipeline, cfg.test_pipeline)
    flow = _is_flow(train)
    assert _is_flow(val) == _is_flow(test) == flow
    assert backbone.in_channels == len(cfg.model.data_preprocessor.mean) == (2 if flow else 3)
    # The model sees L frames: the sampler draws L (RGB) or L + 1 (flow) frames.
    frames = _sampler(train).clip_len - int(flow)
    assert backbone.clip_len == frames == cfg.clip_len
    if not rel_path.endswith('-test.py'):
        assert _sampler(test).clip_len == _sampler(train).clip_len
    assert head.num_classes == cfg.num_classes
    for split in ('train', 'val', 'test'):  # labels are range-checked, bad files named
        dataset = cfg[f'{split}_dataloader'].dataset
        assert (dataset.type, dataset.num_classes) == ('RobustVideoDataset', cfg.num_classes)

    # The paper's recipe: temporal jittering, 128x171 resize, random 112 crop and flip.
    jitter = _sampler(train)
    assert (jitter.frame_interval, jitter.num_clips, jitter.get('test_mode', False)) == (
        1, 1, False)
    assert _steps(train, 'Resize')[0].scale == (171, 128)
    assert _steps(train, 'RandomCrop')[0].size == 112
    assert _steps(train, 'Flip')[0].flip_ratio == 0.5
    dataset = _dataset_name(cfg)
    assert _sampler(test).num_clips == (100 if dataset == 'sports1m' else 10)
    assert _sampler(test).test_mode and _sampler(val).num_clips == 1
    if rel_path.endswith('-3crop-test.py'):  # the three-crop option
        assert _steps(test, 'ThreeCrop')[0].crop_size == 128
    else:
        assert _steps(test, 'CenterCrop')[0].crop_size == 112
    assert cfg.train_dataloader.sampler == dict(type='FixedLengthEpochSampler',
                                                num_samples=EPOCH_SIZE[dataset])
    assert cfg.val_evaluator.type == cfg.test_evaluator.type == 'ClipVideoAccuracy'
    # auto_scale_lr is stated for the batch that the config's name announces.
    assert cfg.auto_scale_lr.enable
    name = re.search(r'_(\d+)xb(\d+)-', rel_path)
    if name:  # not the entry point, which is named for users
        gpus, per_gpu = map(int, name.groups())
        assert per_gpu == cfg.train_dataloader.batch_size
        assert cfg.auto_scale_lr.base_batch_size == gpus * per_gpu

    # A fine-tune starts from published weights (r21d://NAME) where they exist, else from
    # the last checkpoint of another config of the tree.
    if cfg.get('load_from'):
        source_cfg = pretraining_config(cfg.load_from)
        # Same network, possibly on other clip lengths (Table 3: 8 -> 32 frames).
        assert ({**source_cfg.model.backbone, 'clip_len': None}
                == {**backbone, 'clip_len': None})


#: Fine-tunes that start from published weights (r21d://NAME): Table 3's 8 -> 32 frames and
#: Table 6's RGB from Kinetics (VMZ published no Kinetics-only flow or Sports-1M models).
FROM_PUBLISHED = {
    'kinetics/r2plus1d_8x1x1-pretrained-r18_8xb32-32x1x1-15e_kinetics400-rgb.py',
    *(f'{ds}/r2plus1d_kinetics400-pretrained-r34_8xb4-32x1x1-8e_{ds}-split{k}-rgb.py'
      for ds in ('ucf101', 'hmdb51') for k in (1, 2, 3))}


def pretraining_config(load_from: str) -> Config:
    """The config of the weights a fine-tune starts from: a published model's own, or the
    config of the tree whose last checkpoint it names."""
    if is_zoo_url(load_from):
        return Config.fromfile(model_info(load_from[len('r21d://'):]).config)
    match = re.fullmatch(r'work_dirs/(.+)/epoch_(\d+)\.pth', load_from)
    assert match, load_from
    (source, ) = [p for p in EXPERIMENTS if osp.basename(p) == match[1] + '.py']
    assert int(match[2]) == load(source).train_cfg.max_epochs
    return load(source)


def test_fine_tunes_start_from_published_weights_where_they_exist():
    from_zoo = {rel_path for rel_path in EXPERIMENTS
                if is_zoo_url(load(rel_path).get('load_from'))}
    assert from_zoo == FROM_PUBLISHED


#: The data part of a name: dataset, split, modality, and a test-only variant's test clips.
DATA_NAME = re.compile(r'(?P<dataset>[a-z0-9]+)(?:-split(?P<split>\d))?-(?P<modality>rgb|flow)'
                       r'(?:-(?P<test_clips>\d+x\d+x\d+)(?P<three_crop>-3crop)?-test)?')


@pytest.mark.parametrize('rel_path', [p for p in SINGLE_STREAM if '/' in p])
def test_name_tells_the_recipe(rel_path):
    """Network, depth, clips, schedule, dataset, split, modality and test clips as named."""
    name = CONFIG_NAME.fullmatch(osp.basename(rel_path))
    data = DATA_NAME.fullmatch(name['data'])
    assert data, name['data']
    cfg = load(rel_path)
    backbone = cfg.model.backbone
    network = r21d_plugin.paper_backbone(
        FAMILIES[name['network']], int(re.fullmatch(r'.*\br(\d+)', name['backbone'])[1]),
        clip_len=backbone.clip_len, in_channels=backbone.in_channels)
    assert {key: backbone[key] for key in network} == network
    flow = data['modality'] == 'flow'
    assert backbone.in_channels == (2 if flow else 3)
    train, test = _sampler(cfg.train_pipeline), _sampler(cfg.test_pipeline)
    assert name['clip'] == f'{backbone.clip_len}x{train.frame_interval}x{train.num_clips}'
    assert int(name['epochs']) == cfg.train_cfg.max_epochs
    assert data['dataset'] == _dataset_name(cfg)
    for split in ('train', 'val', 'test'):
        ann_file = osp.basename(cfg[f'{split}_dataloader'].dataset.ann_file)
        assert (f'_split_{data["split"]}_' in ann_file) if data['split'] else (
            '_split_' not in ann_file)
    if data['test_clips']:
        assert data['test_clips'] == (
            f'{test.clip_len - int(flow)}x{test.frame_interval}x{test.num_clips}')
    assert bool(data['three_crop']) == bool(_steps(cfg.test_pipeline, 'ThreeCrop'))
    # {pretraining}-pretrained-r{depth}: the dataset (or clips) of the checkpoint it loads.
    pretraining = re.fullmatch(r'(.+)-pretrained-r\d+', name['backbone'])
    assert bool(pretraining) == bool(cfg.get('load_from'))
    if pretraining:
        if is_zoo_url(cfg.load_from):  # named for its metafile entry
            info = model_info(cfg.load_from[len('r21d://'):])
            source_clip = f'{info.clip_len}x1x1'  # trained on 1 clip of clip_len frames
            source_dataset = info.data.lower().replace('-', '')
        else:
            source = CONFIG_NAME.fullmatch(cfg.load_from.split('/')[1] + '.py')
            source_clip = source['clip']
            source_dataset = DATA_NAME.fullmatch(source['data'])['dataset']
        if re.fullmatch(r'\d+x\d+x\d+', pretraining[1]):  # other clips (Table 3)
            assert (source_clip, source_dataset) == (pretraining[1], data['dataset'])
        else:
            assert source_dataset == pretraining[1]


@pytest.mark.parametrize('rel_path', MODEL_BASES)
def test_model_base_is_the_paper_network(rel_path):
    family, depth, *flow = osp.basename(rel_path)[:-3].split('_')
    in_channels = 2 if flow else 3
    cfg = load(rel_path)
    backbone = dict(cfg.model.backbone)
    assert backbone.pop('norm_cfg') == dict(type='BN3d', requires_grad=True, eps=1e-3)
    assert backbone == r21d_plugin.paper_backbone(FAMILIES[family], int(depth[1:]),
                                                  clip_len=8, in_channels=in_channels)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    if depth == 'r18' and not flow:
        # Paper Table 2 counts (fc 400 included), printed to 0.1M.
        assert abs(params / 1e6 - PAPER_TABLE2_PARAMS_M[FAMILIES[family]]) < 0.1, params


def _group(key) -> list:
    """Single-stream configs grouped by ``key(config)``, each group as a list of paths."""
    groups = {}
    for rel_path in SINGLE_STREAM:
        groups.setdefault(key(load(rel_path)), []).append(rel_path)
    return list(groups.values())


def _backbone_tree(cfg) -> str:
    init_default_scope('mmaction')
    with torch.device('meta'):
        return repr(MODELS.build(cfg.model.backbone))


ARCHITECTURES = _group(_backbone_tree)
PIPELINE_SETS = _group(
    lambda cfg: repr((cfg.train_pipeline, cfg.val_pipeline, cfg.test_pipeline)))


def test_groups_cover_every_config():
    assert sorted(sum(ARCHITECTURES, [])) == sorted(sum(PIPELINE_SETS, [])) == SINGLE_STREAM
    # Family, depth and modality make distinct networks; clip lengths of 8 frames and more
    # give the same network except for R2D (conv1 spans the clip).
    assert len(ARCHITECTURES) == 16


def _tiny_batch(model, num_samples, num_clips, in_channels, clip_len, training):
    """Random 0..255 clips of 16x16 pixels through the model's data preprocessor."""
    inputs = [torch.randint(0, 256, (num_clips, in_channels, clip_len, 16, 16)).float()
              for _ in range(num_samples)]
    samples = [ActionDataSample().set_gt_label(i) for i in range(num_samples)]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training)


@pytest.mark.parametrize('group', ARCHITECTURES, ids=lambda group: group[0])
def test_model_trains_and_predicts(group):
    cfg = load(group[0])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert repr(model.backbone) == _backbone_tree(cfg)
    channels = cfg.model.backbone.in_channels
    frames = min(load(rel_path).model.backbone.clip_len for rel_path in group)
    model.train()
    losses = model(**_tiny_batch(model, 2, 1, channels, frames, True), mode='loss')
    sum(losses.values()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.cls_head.fc_cls.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        (prediction, ) = model(**_tiny_batch(model, 1, 2, channels, frames, False),
                               mode='predict')
    num_classes = cfg.model.cls_head.num_classes
    assert prediction.clip_scores.shape == (2, num_classes)
    torch.testing.assert_close(prediction.pred_score, prediction.clip_scores.mean(0))


@pytest.fixture(scope='module')
def tiny_video(tmp_path_factory):
    """A 50-frame 64x48 mp4 (enough for 48-frame clips, and 49 for flow) and its ann file."""
    root = tmp_path_factory.mktemp('video')
    writer = cv2.VideoWriter(str(root / 'clip.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 25,
                             (64, 48))
    rng = np.random.default_rng(0)
    for t in range(50):
        frame = np.roll(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), t, axis=1)
        writer.write(frame)
    writer.release()
    (root / 'ann.txt').write_text('clip.mp4 0\n')
    return root


@pytest.mark.parametrize('group', PIPELINE_SETS, ids=lambda group: group[0])
def test_pipelines_run_on_a_tiny_video(group, tiny_video):
    cfg = load(group[0])
    channels = cfg.model.backbone.in_channels
    test_clips = min(MAX_TEST_CLIPS_RUN, _sampler(cfg.test_pipeline).num_clips)
    for split, clips in (('train', 1), ('val', 1), ('test', test_clips)):
        loader = cfg[f'{split}_dataloader']
        frames = _sampler(loader.dataset.pipeline).clip_len - int(channels == 2)
        pipeline = [dict(step, num_clips=clips) if step.type == 'SampleFrames' else step
                    for step in loader.dataset.pipeline]
        dataset = DATASETS.build(dict(
            loader.dataset, ann_file=str(tiny_video / 'ann.txt'),
            data_prefix=dict(video=str(tiny_video)), pipeline=pipeline))
        sample = dataset[0]
        three_crops = _steps(pipeline, 'ThreeCrop')
        views, size = (3 * clips, three_crops[0]['crop_size']) if three_crops else (clips, 112)
        assert sample['inputs'].shape == (views, channels, frames, size, size), split
        assert sample['data_samples'].metainfo.get('num_clips', clips) == clips
        assert sample['data_samples'].gt_label.item() == 0
        if channels == 2:  # float flow in pixels, not image levels
            assert sample['inputs'].dtype == torch.float32
    for split in ('val', 'test'):
        METRICS.build(cfg[f'{split}_evaluator'])
