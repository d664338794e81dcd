# HMDB51 RGB, split 2: split 1's recipe on the official split 2.
_base_ = ['./hmdb51_rgb_split1.py']

split = 2
ann_file_train = f'data/hmdb51/hmdb51_train_split_{split}_videos.txt'
ann_file_val = f'data/hmdb51/hmdb51_val_split_{split}_videos.txt'
ann_file_test = ann_file_val

train_dataloader = dict(dataset=dict(ann_file=ann_file_train))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val))
test_dataloader = dict(dataset=dict(ann_file=ann_file_test))
