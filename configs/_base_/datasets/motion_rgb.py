# The embedded motion dataset (tools/data/generate_motion_dataset.py writes it to
# data/motion): 8 classes that only the direction of motion tells apart, 32x32 mp4 videos
# of 32 frames. Clips of 8 frames taken every 2nd frame, 28x28 crops (the paper: 112 from
# 128x171; a quarter of the resolution keeps the demo within minutes on 2 CPU cores).
# No horizontal flip: it would turn move_right into move_left.
# Test: the paper's protocol, 10 uniformly spaced clips, center crop; ClipVideoAccuracy
# reports clip@1 and video@1 of the same run.
# The paths are stated once, in the dataloaders (tools/demo.py points them elsewhere).
dataset_type = 'VideoDataset'
# Class names for the use side (tools/infer.py), written by the dataset generator.
label_map = 'data/motion/classes.txt'
clip_len = 8
frame_interval = 2
crop_size = 28
# Named by r21d-train / r21d-test when a file under `root` is missing.
data_preparation = dict(
    dataset='the motion dataset', root='data/motion',
    how='r21d-generate-motion-dataset --out data/motion (from a checkout: python '
    'tools/data/generate_motion_dataset.py --out data/motion)')

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomCrop', size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# Validation during training: one clip per video (clip@1 = video@1), cheap.
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# ThreeCrop instead of CenterCrop (three crops as large as the frames' short side, along
# the long side; meant for frames resized to a non-square shape) works as it is: the
# 'num_clips' meta key lets MultiClipRecognizer3D average each clip's crops.
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=10,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp', 'num_clips'))
]

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, ann_file='data/motion/train.txt',
                 data_prefix=dict(video='data/motion'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file='data/motion/val.txt',
                 data_prefix=dict(video='data/motion'), pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file='data/motion/test.txt',
                 data_prefix=dict(video='data/motion'), pipeline=test_pipeline, test_mode=True))

val_evaluator = dict(type='ClipVideoAccuracy')
test_evaluator = val_evaluator
