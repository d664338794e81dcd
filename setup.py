"""Install the R(2+1)D plugin for MMAction2 1.x.

Install a torch build first (CPU or CUDA, your choice); we only ask for a range so pip
never replaces it. ``tools/setup.sh`` does this for a fresh CPU machine.
"""
import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

#: ONNX export and its verification in ONNX Runtime and OpenVINO (r21d_plugin.apis.export),
#: the two CPU runtimes the use side can run an export in (r21d_plugin.apis.runtimes).
DEPLOY_REQUIRES = ['onnx>=1.16,<2', 'onnxruntime>=1.18,<2', 'openvino>=2024.0']
TENSORBOARD_REQUIRES = ['tensorboard']

INSTALL_REQUIRES = [
    # The range tools/compat_matrix.sh ran (docs/install.md): an installed torch inside it
    # is kept, never replaced.
    'torch>=2.4,<2.16',
    'mmaction2==1.2.0',
    'mmengine>=0.10.7,<0.11',
    'mmcv-lite==2.1.0',
    # decord has wheels for x86_64 only; elsewhere (aarch64: GH200 / Grace) the plugin
    # decodes with PyAV or torchcodec (docs/install.md, ARM).
    'decord>=0.6.0; platform_machine == "x86_64" or platform_machine == "AMD64"',
    # PyAV: the decoder that is always there (FFmpeg in its wheels, aarch64 included), and
    # the H.264 encoder of labelled videos (r21d_plugin.data.decoders, apis.visualization)
    'av>=18',
    'numpy>=1.24',  # OpenCV (Farneback flow) comes with mmaction2 (opencv-contrib-python)
    'importlib_metadata',  # imported by mmaction2 1.2.0 but not declared by it
    # At run time: mmengine 0.10.7 resolves `mmaction::` config bases with pkg_resources
    # (mmengine/utils/package_utils.py), which setuptools 82 no longer ships.
    'setuptools<82',
    'tqdm',
    'pyyaml',  # the published models' metafile (r21d_plugin.zoo)
    # The plots; mmengine's Visualizer also imports it whenever a runner is built.
    'matplotlib',
]


class BuildWithConfigs(build_py):
    """Also copy ``configs/`` into the package as ``r21d_plugin/.mim/configs``.

    MMAction2 ships its configs the same way (for mim), so that ``r21d_plugin.configs``
    finds them by name after ``pip install``. An editable install reads the checkout's.
    """

    def run(self) -> None:
        super().run()
        if not getattr(self, 'editable_mode', False) and os.path.isdir('configs'):
            shutil.copytree('configs',
                            os.path.join(self.build_lib, 'r21d_plugin', '.mim', 'configs'),
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'),
                            dirs_exist_ok=True)


setup(
    name='r21d_plugin',
    version='0.1.0',
    description='R(2+1)D, MCx, rMCx, R3D, R2D and f-R2D (Tran et al., CVPR 2018) for MMAction2 1.x',
    long_description=open('README.md').read() if os.path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    # The matrix passed 3.10 to 3.13 (docs/install.md); PyAV >= 18 needs Python >= 3.11.
    python_requires='>=3.11',
    classifiers=[
        'Development Status :: 4 - Beta',
        'Intended Audience :: Science/Research',
        'License :: OSI Approved :: Apache Software License',
        'Operating System :: POSIX :: Linux',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
    packages=find_packages(include=['r21d_plugin', 'r21d_plugin.*']),
    # Class names of the published weights' datasets (r21d_plugin.label_maps).
    package_data={'r21d_plugin.label_maps': ['*.txt']},
    cmdclass={'build_py': BuildWithConfigs},
    # One console script per tool (r21d_plugin/cli/<tool>.py; tools/<tool>.py wraps it).
    entry_points={'console_scripts': [
        'r21d-train = r21d_plugin.cli.train:main',
        'r21d-test = r21d_plugin.cli.test:main',
        'r21d-demo = r21d_plugin.cli.demo:main',
        'r21d-benchmark = r21d_plugin.cli.benchmark:main',
        'r21d-convert-weights = r21d_plugin.cli.convert_weights:main',
        'r21d-extract-flow = r21d_plugin.cli.extract_flow:main',
        'r21d-check-dataset = r21d_plugin.cli.check_dataset:main',
        'r21d-two-stream-checkpoint = r21d_plugin.cli.two_stream_checkpoint:main',
        'r21d-accuracy-vs-clips = r21d_plugin.cli.accuracy_vs_clips:main',
        'r21d-model-complexity = r21d_plugin.cli.model_complexity:main',
        'r21d-generate-motion-dataset = r21d_plugin.cli.generate_motion_dataset:main',
        'r21d-build-sports1m-annotations = r21d_plugin.cli.build_sports1m_annotations:main',
        'r21d-export = r21d_plugin.cli.export:main',
        'r21d-infer = r21d_plugin.cli.infer:main',
        'r21d-extract-features = r21d_plugin.cli.extract_features:main',
        'r21d-list-models = r21d_plugin.cli.list_models:main',
    ]},
    install_requires=INSTALL_REQUIRES,
    extras_require={
        # torchvision (the reference the weight converters are tested against) is not
        # listed: each release pins one torch, so pip would replace the installed torch.
        # tools/setup.sh --tests installs the release paired with the installed torch.
        'deploy': DEPLOY_REQUIRES,
        # TensorBoard logging; without it runs log to their work dir only.
        'tensorboard': TENSORBOARD_REQUIRES,
        # CI exports and logs to TensorBoard for real, and builds a wheel without build
        # isolation (tests/test_tools/test_packaging.py): pyproject.toml's build requirements.
        'tests': (['pytest>=7', 'pytest-xdist', 'hypothesis>=6.100,<7', 'setuptools>=64',
                   'wheel'] + DEPLOY_REQUIRES + TENSORBOARD_REQUIRES),
    },
)
