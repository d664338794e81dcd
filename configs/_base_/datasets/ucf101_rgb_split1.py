# UCF101 videos, RGB, split 1 of the three official splits (the paper reports the mean
# over the splits). The fine-tuning recipe of the reference code (VMZ) for R(2+1)D-34:
# 32-frame clips, 4 clips per GPU, epochs of 100k clips drawn with temporal jittering;
# 10 uniformly spaced center clips per video for the test.
# Layout: MMAction2's tools/data/ucf101 (README, "Data preparation").
_base_ = ['./kinetics400_rgb_32x1x1.py']

split = 1
data_root = 'data/ucf101/videos'
data_root_val = data_root
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'
ann_file_test = ann_file_val
num_classes = 101
data_preparation = dict(
    dataset='UCF101', root='data/ucf101',
    how="MMAction2's tools/data/ucf101 scripts, linked into data/ucf101 (README, "
    '"Data preparation")')

train_dataloader = dict(
    batch_size=4,
    sampler=dict(num_samples=100_000),
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
