# Copyright (c) mmseg_kd contributors. All rights reserved.
import os.path as osp
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(path):
    with open(osp.join(HERE, path)) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith(('#', '-r'))
        ]


def read_version():
    scope = {}
    with open(osp.join(HERE, 'mmseg_kd', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmseg_kd',
    version=read_version(),
    description='Knowledge distillation for semantic segmentation, '
    'a plugin for mmsegmentation 1.x',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'tools')),
    python_requires='>=3.10',
    # torch and mmcv (with ops) are installed beforehand, see
    # tools/install_env.sh: no wheel of mmcv exists for recent torch.
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require=dict(
        tests=read_requirements('requirements/tests.txt'),
        mim=read_requirements('requirements/mminstall.txt')),
    license='Apache License 2.0',
    zip_safe=False)
