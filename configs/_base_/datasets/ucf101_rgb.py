# UCF101 videos, RGB, split 1 of the three official splits (the paper reports the mean
# over the splits). The fine-tuning recipe of the reference code (VMZ) for R(2+1)D-34:
# 32-frame clips, 4 clips per GPU, epochs of 100k clips drawn with temporal jittering;
# 10 uniformly spaced center clips per video for the test. Splits 2 and 3, and optical
# flow: r21d_plugin.data.pipelines.data_settings(_base_, split=k, flow=True).
# Layout: MMAction2's tools/data/ucf101 (docs/reproduction.md, "Data preparation").
_base_ = ['./kinetics400_rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import with_clip_len

num_classes = 101
clip_len = 32
data_preparation = dict(
    dataset='UCF101', root='data/ucf101',
    how="MMAction2's tools/data/ucf101 scripts, linked into data/ucf101 (docs/reproduction.md, "
    '"Data preparation")')

train_pipeline = with_clip_len(_base_.train_pipeline, clip_len)
val_pipeline = with_clip_len(_base_.val_pipeline, clip_len)
test_pipeline = with_clip_len(_base_.test_pipeline, clip_len)
train_dataloader = dict(
    batch_size=4,
    sampler=dict(num_samples=100_000),
    dataset=dict(
        ann_file='data/ucf101/ucf101_train_split_1_videos.txt',
        data_prefix=dict(video='data/ucf101/videos'),
        num_classes=num_classes,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        ann_file='data/ucf101/ucf101_val_split_1_videos.txt',
        data_prefix=dict(video='data/ucf101/videos'),
        num_classes=num_classes,
        pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(
        ann_file='data/ucf101/ucf101_val_split_1_videos.txt',
        data_prefix=dict(video='data/ucf101/videos'),
        num_classes=num_classes,
        pipeline=test_pipeline))
