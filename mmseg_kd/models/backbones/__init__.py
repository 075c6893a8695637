# Copyright (c) mmseg_kd contributors. All rights reserved.
from .espnet import ESPNetC

__all__ = ['ESPNetC']
