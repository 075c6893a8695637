# Copyright (c) mmseg_kd contributors. All rights reserved.
"""User-facing APIs built on the library: the probe."""
from . import probe
from .probe import ProbeReport, list_modules, run_probe

__all__ = ['probe', 'ProbeReport', 'run_probe', 'list_modules']
