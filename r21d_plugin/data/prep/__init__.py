"""Offline data preparation: run once before training, never imported by a running job.

The embedded motion dataset, Sports-1M's annotation lists, flow extraction and the dataset
check, with the crash-isolated worker pool the last two share.
"""
