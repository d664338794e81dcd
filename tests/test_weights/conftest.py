"""Shared source models: the R(2+1)D-34 is built once per session."""
import pytest
from helpers import ig65m_r2plus1d_34


@pytest.fixture(scope='session')
def ig65m_8f():
    """ig65m-pytorch's R(2+1)D-34 with the 8-frame IG-65M head (487 classes)."""
    return ig65m_r2plus1d_34(num_classes=487)
