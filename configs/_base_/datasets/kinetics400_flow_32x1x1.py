# Kinetics-400 optical flow with 32-frame clips: every frame sampler of the base draws them.
_base_ = ['./kinetics400_flow.py']

clip_len = 32


def _retimed(pipeline):
    # Shift by the difference, so a flow sampler keeps its one extra frame (L + 1).
    return [
        dict(step, clip_len=step.clip_len - _base_.clip_len + clip_len)
        if step.type == 'SampleFrames' else step for step in pipeline
    ]


train_pipeline = _retimed(_base_.train_pipeline)
val_pipeline = _retimed(_base_.val_pipeline)
test_pipeline = _retimed(_base_.test_pipeline)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
