# HMDB51 videos, RGB, split 1 of the three official splits (the paper reports the mean
# over the splits). The UCF101 fine-tuning recipe of the reference code (VMZ) with
# epochs of 40k clips. Splits 2 and 3, and optical flow:
# r21d_plugin.data.pipelines.data_settings(_base_, split=k, flow=True).
# Layout: MMAction2's tools/data/hmdb51 (docs/reproduction.md, "Data preparation").
_base_ = ['./ucf101_rgb.py']

num_classes = 51
data_preparation = dict(
    dataset='HMDB51', root='data/hmdb51',
    how="MMAction2's tools/data/hmdb51 scripts, linked into data/hmdb51 (docs/reproduction.md, "
    '"Data preparation")')

train_dataloader = dict(
    sampler=dict(num_samples=40_000),
    dataset=dict(
        ann_file='data/hmdb51/hmdb51_train_split_1_videos.txt',
        data_prefix=dict(video='data/hmdb51/videos'),
        num_classes=num_classes))
val_dataloader = dict(
    dataset=dict(
        ann_file='data/hmdb51/hmdb51_val_split_1_videos.txt',
        data_prefix=dict(video='data/hmdb51/videos'),
        num_classes=num_classes))
test_dataloader = dict(
    dataset=dict(
        ann_file='data/hmdb51/hmdb51_val_split_1_videos.txt',
        data_prefix=dict(video='data/hmdb51/videos'),
        num_classes=num_classes))
