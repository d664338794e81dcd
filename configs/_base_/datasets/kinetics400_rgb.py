# Kinetics-400 videos, RGB, with the paper's recipe (section 4.1): frames resized to
# 128x171, a random 112x112 crop and a random horizontal flip for training, temporal
# jittering (one random window of L consecutive frames per draw) over epochs of 1M clips
# whatever the dataset's size; one center clip per video for validation during training;
# 10 uniformly spaced center-cropped clips per video for the test (clip@1 and video@1).
# Layout: MMAction2's tools/data/kinetics (docs/reproduction.md, "Data preparation").
# Experiment configs take `clip_len` and `num_classes` from here for the model; other clip
# lengths and optical flow: r21d_plugin.data.pipelines.data_settings (docs/configs.md).
# MMAction2's VideoDataset that names the file and annotation line of every bad sample
# (r21d_plugin.data.robust); a video shorter than a clip loops its frames, as MMAction2's.
# The paths are stated once, in the dataloaders, so that a derived config cannot leave a
# stale copy behind.
dataset_type = 'RobustVideoDataset'
num_classes = 400
clip_len = 8
# Named by r21d-train / r21d-test when a file under `root` is missing (docs/reproduction.md,
# "Data preparation"; r21d_plugin/engine/preflight.py).
data_preparation = dict(
    dataset='Kinetics-400', root='data/kinetics400',
    how="MMAction2's tools/data/kinetics scripts, linked into data/kinetics400 (docs/reproduction.md, "
    '"Data preparation")')
# Class names, for the use side (r21d_plugin.apis, tools/infer.py): the packaged Kinetics-400
# label map (r21d_plugin/label_maps).
label_map = 'kinetics400'

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(171, 128), keep_ratio=False),
    dict(type='RandomCrop', size=112),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(171, 128), keep_ratio=False),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=10,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(171, 128), keep_ratio=False),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    # 'num_clips' lets MultiClipRecognizer3D tell clips from crops, for the three-crop
    # option (r21d_plugin.data.pipelines.with_three_crop; configs/kinetics/*-3crop-test.py).
    dict(type='PackActionInputs',
         meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp', 'num_clips')),
]

train_dataloader = dict(
    batch_size=32,  # clips per GPU (paper: 32)
    num_workers=8,
    persistent_workers=True,
    # An epoch is 1M clips drawn from the ~240k videos (each pass reshuffled).
    sampler=dict(type='FixedLengthEpochSampler', num_samples=1_000_000),
    dataset=dict(
        type=dataset_type,
        ann_file='data/kinetics400/kinetics400_train_list_videos.txt',
        data_prefix=dict(video='data/kinetics400/videos_train'),
        num_classes=num_classes,
        allow_short_videos=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file='data/kinetics400/kinetics400_val_list_videos.txt',
        data_prefix=dict(video='data/kinetics400/videos_val'),
        num_classes=num_classes,
        allow_short_videos=True,
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=4,  # videos per GPU, 10 clips each
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file='data/kinetics400/kinetics400_val_list_videos.txt',
        data_prefix=dict(video='data/kinetics400/videos_val'),
        num_classes=num_classes,
        allow_short_videos=True,
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(type='ClipVideoAccuracy')
test_evaluator = dict(type='ClipVideoAccuracy')
