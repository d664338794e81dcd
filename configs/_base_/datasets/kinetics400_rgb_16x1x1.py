# Kinetics-400 RGB with 16-frame clips: the base recipe, every clip 16 frames long.
_base_ = ['./kinetics400_rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import with_clip_len

clip_len = 16
train_pipeline = with_clip_len(_base_.train_pipeline, clip_len)
val_pipeline = with_clip_len(_base_.val_pipeline, clip_len)
test_pipeline = with_clip_len(_base_.test_pipeline, clip_len)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
