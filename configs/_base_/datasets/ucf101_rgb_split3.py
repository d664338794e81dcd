# UCF101 RGB, split 3: split 1's recipe on the official split 3.
_base_ = ['./ucf101_rgb_split1.py']

split = 3
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'
ann_file_test = ann_file_val

train_dataloader = dict(dataset=dict(ann_file=ann_file_train))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val))
test_dataloader = dict(dataset=dict(ann_file=ann_file_test))
