"""Install the R(2+1)D plugin for MMAction2 1.x.

Install a torch build first (CPU or CUDA, your choice); we only ask for a range so pip
never replaces it. ``tools/setup.sh`` does this for a fresh CPU machine.
"""
from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    'torch>=2.13,<3',  # the oldest torch CI runs (tools/setup.sh)
    'mmaction2==1.2.0',
    'mmengine>=0.10.7,<0.11',
    'mmcv-lite==2.1.0',
    'decord>=0.6.0',
    'numpy>=1.24',  # OpenCV (Farneback flow) comes with mmaction2 (opencv-contrib-python)
    'importlib_metadata',  # imported by mmaction2 1.2.0 but not declared by it
    'setuptools<82',  # mmengine 0.10.7 needs pkg_resources for `mmaction::` bases
    'tqdm',
    'matplotlib',
    'tensorboard',
]

setup(
    name='r21d_plugin',
    version='0.1.0',
    description='R(2+1)D, MCx, rMCx, R3D, R2D and f-R2D (Tran et al., CVPR 2018) for MMAction2 1.x',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['r21d_plugin', 'r21d_plugin.*']),
    install_requires=INSTALL_REQUIRES,
    entry_points={
        'console_scripts': [
            'r21d-extract-features = r21d_plugin.cli.extract_features:main',
        ],
    },
    extras_require={
        # torchvision (the reference the weight converters are tested against) is not
        # listed: each release pins one torch, so pip would replace the installed torch.
        # tools/setup.sh --tests installs the release paired with the installed torch.
        'tests': ['pytest>=7', 'pytest-xdist'],
    },
)
