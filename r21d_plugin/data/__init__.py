"""Data: the embedded motion dataset, flow transforms, robust loading, clip sampling,
torchvision's preprocessing, video decoders (``decoders``; torchcodec's pipeline steps)."""
from .robust import RobustRawframeDataset, RobustVideoDataset  # noqa: F401
from .epoch_sampler import FixedLengthEpochSampler  # noqa: F401
from .flow import DequantizeFlow, FarnebackFlow, FlowFlip, LoadAlignedFlow  # noqa: F401
from .torchvision_transforms import TorchvisionCenterCrop, TorchvisionResize  # noqa: F401
from .torchcodec_transforms import TorchCodecDecode, TorchCodecInit  # noqa: F401
