# Published Kinetics-400 weights tested as they are, on 16-frame clips: the Kinetics-400
# test set, preprocessing and label map of datasets/kinetics400_rgb_16x1x1.py, the test loop of
# tools/test.py, and nothing to train or validate (fine-tuning configs set their own).
_base_ = ['../datasets/kinetics400_rgb_16x1x1.py', '../default_runtime.py']

train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
