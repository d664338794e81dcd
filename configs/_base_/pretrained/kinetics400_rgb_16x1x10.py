# Published Kinetics-400 weights tested as they are, on 16-frame clips: the Kinetics-400 test
# set, preprocessing and label map of datasets/kinetics400_rgb.py with 16-frame clips, the test loop of
# tools/test.py, and nothing to train or validate (fine-tuning configs set their own).
_base_ = ['../datasets/kinetics400_rgb.py', '../default_runtime.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import data_settings

clip_len = 16
(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, clip_len=clip_len)
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
