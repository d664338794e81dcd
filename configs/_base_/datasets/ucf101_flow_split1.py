# UCF101 split 1, optical flow computed on the fly as in the paper and its code (VMZ): each
# clip draws L+1 consecutive frames, resized, cropped and flipped as RGB, then Farneback
# flow (r21d_plugin.data.flow.FarnebackFlow) turns them into L frames of (dx, dy) in
# pixels. Same videos and annotation files as RGB; pair with a *_flow model base (2 input
# channels, flow normalisation). Offline flow: tools/extract_flow.py (configs/two_stream).
_base_ = ['./ucf101_rgb_split1.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import flow_pipeline

train_pipeline = flow_pipeline(_base_.train_pipeline)
val_pipeline = flow_pipeline(_base_.val_pipeline)
test_pipeline = flow_pipeline(_base_.test_pipeline)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
