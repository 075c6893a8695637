# Copyright (c) mmseg_kd contributors. All rights reserved.
from .connectors import (ChannelConnector, Connector, ConnectorChain,
                         ResizeConnector, TokensToMap, build_connector)
from .discriminators import (AdversarialInputs, DiscriminatorSet,
                             SAGANDiscriminator, SelfAttention2d)
from .distiller import Distiller, DistillOutput, resize_labels
from .ensembles import MeanTeacherProbabilities, mean_tempered_probabilities
from .network import forward_network, parts_needed
from .recorder import TensorRecorder
from .tensor_spec import TensorSpec
from .weight_schedule import WeightSchedule, build_schedule

__all__ = [
    'TensorSpec', 'TensorRecorder', 'Distiller', 'DistillOutput',
    'resize_labels', 'AdversarialInputs', 'MeanTeacherProbabilities',
    'mean_tempered_probabilities', 'Connector', 'ChannelConnector',
    'ResizeConnector', 'TokensToMap', 'ConnectorChain', 'build_connector',
    'forward_network', 'parts_needed', 'WeightSchedule', 'build_schedule',
    'SAGANDiscriminator', 'SelfAttention2d', 'DiscriminatorSet'
]
