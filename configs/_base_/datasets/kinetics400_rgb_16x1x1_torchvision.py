# Kinetics-400 RGB with 16-frame clips and torchvision's evaluation preprocessing, for its
# KINETICS400_V1 weights: frames resized to 128x171 and center-cropped to 112 with torchvision's
# arithmetic (r21d_plugin.data.torchvision_transforms; MMAction2's Resize / CenterCrop differ by
# a grey level and a column), and torchvision's normalisation, which the model's
# data_preprocessor takes from here (`_base_.torchvision_mean` / `_base_.torchvision_std`).
_base_ = ['./kinetics400_rgb_16x1x1.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import with_torchvision_transforms

# torchvision's video mean / std (for frames in 0..1) x 255: the frames here are 0..255.
torchvision_mean = [0.43216 * 255, 0.394666 * 255, 0.37645 * 255]
torchvision_std = [0.22803 * 255, 0.22145 * 255, 0.216989 * 255]

val_pipeline = with_torchvision_transforms(_base_.val_pipeline)
test_pipeline = with_torchvision_transforms(_base_.test_pipeline)
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
