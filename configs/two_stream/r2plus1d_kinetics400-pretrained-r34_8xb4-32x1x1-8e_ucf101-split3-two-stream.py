# Table 6: two-stream R(2+1)D-34 on UCF101 split 3, fine-tuned from Kinetics,
# 32-frame clips (paper, top-1 averaged over the 3 splits: 97.3 (RGB 96.8, flow 95.5)).
# The streams are the two single-stream configs named below, each tested from its own
# checkpoint (model.rgb_checkpoint / model.flow_checkpoint, or one merged checkpoint:
# tools/two_stream_checkpoint.py); their per-video softmax scores are averaged 0.5 / 0.5.
# One run reports rgb/*, flow/* and two_stream/* metrics.
_base_ = ['../_base_/default_runtime.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import two_stream_test_settings

model, test_dataloader, test_evaluator = two_stream_test_settings(
    '{{ fileDirname }}/../ucf101/r2plus1d_kinetics400-pretrained-r34_8xb4-32x1x1-8e_ucf101-split3-rgb.py',
    '{{ fileDirname }}/../ucf101/r2plus1d_kinetics400-pretrained-r34_8xb4-32x1x1-8e_ucf101-split3-flow.py')
test_cfg = dict(type='TestLoop')
