# VMZ's R(2+1)D-34 for 8-frame clips, trained on IG-65M only:
# r2plus1d_34_clip8_ig65m_from_scratch (487 classes). Convert the ig65m-pytorch .pth with
# --source vmz-pt, or VMZ's Caffe2 .pkl with --source caffe2 (both --arch r2plus1d_34).
# The network and preprocessing of the Kinetics model fine-tuned from it.
_base_ = ['./r2plus1d_r34_vmz_8x1x10_kinetics400-rgb.py']

model = dict(cls_head=dict(num_classes=487))
# IG-65M's classes (hashtags) are not public: predictions are reported as class indices.
label_map = None
# IG-65M's videos are not public either: no dataset to train or test on here (fine-tuning
# configs inheriting this one set their own).
train_dataloader = None
val_dataloader = None
test_dataloader = None
val_evaluator = None
test_evaluator = None
test_cfg = None
