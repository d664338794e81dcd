# torchvision's published Kinetics-400 weights (KINETICS400_V1) tested as they are, on
# 16-frame clips with torchvision's preprocessing: the Kinetics-400 test set and label map of
# datasets/kinetics400_rgb.py with 16-frame clips, the test loop of tools/test.py, and
# nothing to train or validate (fine-tuning configs set their own).
_base_ = ['../datasets/kinetics400_rgb.py', '../default_runtime.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import data_settings, with_torchvision_transforms

clip_len = 16
(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, clip_len=clip_len)
# torchvision's arithmetic for resize and center crop (r21d_plugin.data.torchvision_transforms;
# MMAction2's Resize / CenterCrop differ by a grey level and a column), and torchvision's
# normalisation, which the model's data_preprocessor takes from here.
# torchvision's video mean / std (for frames in 0..1) x 255: the frames here are 0..255.
torchvision_mean = [0.43216 * 255, 0.394666 * 255, 0.37645 * 255]
torchvision_std = [0.22803 * 255, 0.22145 * 255, 0.216989 * 255]
test_pipeline = with_torchvision_transforms(test_pipeline)
test_dataloader['dataset']['pipeline'] = test_pipeline
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
