"""Weights: converters from torchvision, VMZ-pt / ig65m-pytorch and VMZ Caffe2 checkpoints."""
