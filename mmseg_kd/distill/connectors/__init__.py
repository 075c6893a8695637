# Copyright (c) mmseg_kd contributors. All rights reserved.
from .base import Connector
from .builder import ConnectorChain, build_connector
from .channel_connector import ChannelConnector
from .resize_connector import ResizeConnector
from .tokens_to_map import TokensToMap

__all__ = [
    'Connector', 'ChannelConnector', 'ResizeConnector', 'TokensToMap',
    'ConnectorChain', 'build_connector'
]
