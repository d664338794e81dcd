# Published Kinetics-400 weights tested as they are, on 16-frame clips: kinetics400_rgb_8x1x10.py
# with 16-frame clips.
_base_ = ['./kinetics400_rgb_8x1x10.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import with_clip_len

test_pipeline = with_clip_len(_base_.test_pipeline, 16)
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
