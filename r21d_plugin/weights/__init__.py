"""Weights: converters from torchvision, VMZ-pt / ig65m-pytorch and VMZ Caffe2 checkpoints."""
from .convert import SOURCES, convert_checkpoint, convert_state_dict, describe  # noqa: F401
from .layout import VMZ_MODEL_NAMES, ConversionError, NetworkSpec  # noqa: F401
