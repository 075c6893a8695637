# Copyright (c) mmseg_kd contributors. All rights reserved.
from .checkpoint import (CheckpointError, CheckpointMismatchError,
                         NotACheckpointError, UnsafeCheckpointError,
                         load_checkpoint_file, load_checkpoint_strict,
                         mismatch_report, read_state_dict,
                         safe_checkpoint_loading, state_dict_of,
                         strip_wrapper_prefix, trust_checkpoints)
from .modules import frozen, mmseg_scope, unwrap
from .sync_bn import revert_unusable_sync_bn

__all__ = [
    'CheckpointError', 'CheckpointMismatchError', 'NotACheckpointError',
    'UnsafeCheckpointError', 'load_checkpoint_file', 'load_checkpoint_strict',
    'read_state_dict', 'safe_checkpoint_loading', 'trust_checkpoints',
    'mismatch_report', 'revert_unusable_sync_bn', 'frozen', 'mmseg_scope',
    'unwrap', 'state_dict_of', 'strip_wrapper_prefix'
]
