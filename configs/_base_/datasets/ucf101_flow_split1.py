# UCF101 split 1, optical flow computed on the fly as in the paper and its code (VMZ): each clip
# draws L+1 consecutive frames, resized, cropped and flipped as RGB, then Farneback flow
# (r21d_plugin.data.flow.FarnebackFlow) turns them into L frames of (dx, dy) in pixels.
# Same videos and annotation files as RGB; pair with a *_flow model base (2 input channels,
# flow normalisation). Offline flow from tools/extract_flow.py is the alternative.
_base_ = ['./ucf101_rgb_split1.py']


def _flow(pipeline):
    steps = []
    for step in pipeline:
        if step.type == 'SampleFrames':
            step = dict(step, clip_len=step.clip_len + 1)
        elif step.type == 'FormatShape':
            steps.append(dict(type='FarnebackFlow'))
        steps.append(step)
    return steps


train_pipeline = _flow(_base_.train_pipeline)
val_pipeline = _flow(_base_.val_pipeline)
test_pipeline = _flow(_base_.test_pipeline)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
