# HMDB51 videos, RGB, split 1 of the three official splits (the paper reports the mean
# over the splits). The UCF101 fine-tuning recipe of the reference code (VMZ) with
# epochs of 40k clips. Layout: MMAction2's tools/data/hmdb51 (README, "Data preparation").
_base_ = ['./ucf101_rgb_split1.py']

split = 1
data_root = 'data/hmdb51/videos'
data_root_val = data_root
ann_file_train = f'data/hmdb51/hmdb51_train_split_{split}_videos.txt'
ann_file_val = f'data/hmdb51/hmdb51_val_split_{split}_videos.txt'
ann_file_test = ann_file_val
num_classes = 51
data_preparation = dict(
    dataset='HMDB51', root='data/hmdb51',
    how="MMAction2's tools/data/hmdb51 scripts, linked into data/hmdb51 (README, "
    '"Data preparation")')

train_dataloader = dict(
    sampler=dict(num_samples=40_000),
    dataset=dict(
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        num_classes=num_classes))
val_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        num_classes=num_classes))
test_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_val),
        num_classes=num_classes))
