# The flow stream of the demo R(2+1)D on the embedded motion dataset (tools/demo.py's RGB
# config, same network, schedule and clips): 2 input channels, Farneback flow computed on
# the fly after the crop (r21d_plugin.data.flow.FarnebackFlow; each clip draws 9 frames for
# 8 flow frames), normalised with the reference flow statistics (FLOW_MEAN / FLOW_STD).
# Train: python tools/train.py configs/two_stream/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-flow.py
_base_ = ['../demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data import flow as flow_data
from r21d_plugin.data.pipelines import data_settings

model = dict(
    backbone=dict(in_channels=2),
    data_preprocessor=dict(mean=list(flow_data.FLOW_MEAN), std=list(flow_data.FLOW_STD)))
(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, flow=True)
