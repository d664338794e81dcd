# Sports-1M videos, RGB: the Kinetics-400 recipe (128x171 resize, 112 crops, temporal
# jittering over epochs of 1M clips) on the 487 sports classes; the test averages 100
# uniformly spaced center clips per video (paper, Table 4). Sports-1M has no validation
# split: validation during training uses one clip of each video of the test partition.
# Annotations: tools/data/sports1m/build_annotations.py (docs/reproduction.md, "Data preparation").
_base_ = ['./kinetics400_rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import with_num_clips

num_classes = 487
data_preparation = dict(
    dataset='Sports-1M', root='data/sports1m',
    how='tools/data/sports1m/README.md: download the videos into data/sports1m/videos, then '
    'r21d-build-sports1m-annotations --train ... --test ... --labels ... '
    '--video-dir data/sports1m/videos --out-dir data/sports1m (docs/reproduction.md, "Data preparation")')
label_map = 'sports1m'  # the official labels.txt order (r21d_plugin/label_maps)

test_pipeline = with_num_clips(_base_.test_pipeline, 100)
train_dataloader = dict(
    dataset=dict(
        ann_file='data/sports1m/sports1m_train_list_videos.txt',
        data_prefix=dict(video='data/sports1m/videos'),
        num_classes=num_classes))
val_dataloader = dict(
    dataset=dict(
        ann_file='data/sports1m/sports1m_test_list_videos.txt',
        data_prefix=dict(video='data/sports1m/videos'),
        num_classes=num_classes))
test_dataloader = dict(
    batch_size=1,  # 100 clips per video
    dataset=dict(
        ann_file='data/sports1m/sports1m_test_list_videos.txt',
        data_prefix=dict(video='data/sports1m/videos'),
        num_classes=num_classes,
        pipeline=test_pipeline))
