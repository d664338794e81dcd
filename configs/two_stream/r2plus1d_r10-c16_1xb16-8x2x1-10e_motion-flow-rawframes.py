# The flow stream of the demo R(2+1)D on the embedded motion dataset, trained on flow
# extracted offline (MMAction2's rawframes layout, x_/y_00001.jpg, +-20 px on 0..255):
#   python tools/extract_flow.py data/motion/train.txt data/motion_flow --resize none
#   (the same for val.txt and test.txt)
# Flow frame k is the flow from video frame k to k+1; the clips take every 2nd flow frame,
# as the RGB clips take every 2nd video frame. Same network, schedule and normalisation as
# the on-the-fly flow config beside this file.
_base_ = ['./r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-flow.py']

flow_root = 'data/motion_flow'
data_preparation = dict(
    dataset="the motion dataset's offline flow", root=flow_root,
    how='r21d-extract-flow data/motion/SPLIT.txt data/motion_flow --resize none, for SPLIT '
    'in train, val and test')
clip_len, frame_interval, crop_size = _base_.clip_len, _base_.frame_interval, _base_.crop_size
flow_dataset = dict(
    _delete_=True,
    type='RawframeDataset',
    data_prefix=dict(img=flow_root),
    filename_tmpl='{}_{:05d}.jpg',
    modality='Flow',
    start_index=1)

train_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=1),
    dict(type='RawFrameDecode'),
    dict(type='RandomCrop', size=crop_size),
    dict(type='DequantizeFlow'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=1,
         test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='DequantizeFlow'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=10,
         test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='DequantizeFlow'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp', 'num_clips'))
]
train_dataloader = dict(dataset=dict(
    flow_dataset, ann_file=f'{flow_root}/train_flow.txt', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    flow_dataset, ann_file=f'{flow_root}/val_flow.txt', pipeline=val_pipeline,
    test_mode=True))
test_dataloader = dict(dataset=dict(
    flow_dataset, ann_file=f'{flow_root}/test_flow.txt', pipeline=test_pipeline,
    test_mode=True))
