# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The CamVid benchmark's fixed protocol: its configs, its rows (the
methods and the students alone they are compared with), its grids, seeds
and schedules, and the names of its runs."""
import contextlib
import copy
import functools
import hashlib
import json
import logging
import os
import os.path as osp
import threading
from typing import TYPE_CHECKING, Dict, Iterator, Union

if TYPE_CHECKING:  # mmengine is imported only to read configs
    from mmengine.config import Config

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
CONFIGS = osp.join('distillation_configs', 'benchmarks', 'camvid_cpu')
RECORDS = osp.join(REPO, 'docs', 'benchmarks', 'camvid', 'records')
TEACHER_CONFIG = osp.join(CONFIGS, 'teacher_pspnet_r18-w32.py')
BASELINE_CONFIG = osp.join(CONFIGS, 'baseline_pspnet_r18-w8.py')
TEACHER_CHECKPOINT = osp.join('checkpoints', 'camvid_cpu',
                              'teacher_pspnet_r18-w32.pth')

#: the table's rows: method name -> its config (in CONFIGS)
METHODS = {
    'kd': 'kd.py',
    'cwd_logits': 'cwd_logits.py',
    'cwd_feature': 'cwd_feature.py',
    'skd_pixel_pair': 'skd_pixel_pair.py',
    'skd_pixel_pair_holistic': 'skd_pixel_pair_holistic.py',
    'ifvd': 'ifvd.py',
    'cgd': 'cgd.py',
    'dist': 'dist.py',
    'dist_calibrated': 'dist_calibrated.py',
    'cirkd': 'cirkd.py',
    'prerelu_pixel_pair': 'prerelu_pixel_pair.py',
    'prerelu_pixel_pair_calibrated': 'prerelu_pixel_pair_calibrated.py',
    'fitnet': 'fitnet.py',
    'at': 'at.py',
    'dsd': 'dsd.py',
    'mgd': 'mgd.py',
    'kd_logit_standardization': 'kd_logit_standardization.py',
    'kd_logit_standardization_calibrated':
    'kd_logit_standardization_calibrated.py',
    'espnet_skd_pixel_pair': 'espnet_skd_pixel_pair.py',
}
#: rows whose loss weights set themselves in training (``Calibrated``)
#: instead of being tuned over a grid: row -> the row whose published
#: weights and grid it is compared with (its config's weights are not
#: numbers); its one tuning run is its config as it is
SET_IN_TRAINING = {
    'dist_calibrated': 'dist',
    'kd_logit_standardization_calibrated': 'kd_logit_standardization',
    'prerelu_pixel_pair_calibrated': 'prerelu_pixel_pair',
}
#: the student alone that a row is compared with (default: 'baseline', the
#: PSPNet; the ESPNet rows, SKD's own CamVid experiment, have their own)
STUDENT_OF = {'espnet_skd_pixel_pair': 'espnet_baseline'}
#: students alone with a fixed recipe (no learning-rate tuning)
FIXED_BASELINES = {
    'espnet_baseline': osp.join(CONFIGS, 'espnet_baseline.py'),
}
BASELINES = ('baseline', ) + tuple(FIXED_BASELINES)
#: the method tuned over the full grid (:data:`FULL_WEIGHT_GRID`); its
#: tuned strength sets every other method's second grid point
REFERENCE_METHOD = 'kd'
#: multiples of the published loss weights tried on val for the reference
#: method (1 = published)
FULL_WEIGHT_GRID = (0.1, 0.3, 1.0, 3.0)
#: the values a calibrated multiple is rounded to (a 1-3 log scale)
MULTIPLE_SCALE = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: learning rates tried on val for the student alone
LR_GRID = (0.02, 0.05, 0.1)
TUNE_SEED = 100
#: the tuning runs' schedule (iterations): half the final runs' 16000, to
#: halve the cost of the grid; the learning rate decays over it as over the
#: full schedule (docs/benchmarks.md, "The protocol")
TUNE_ITERS = 8000
FINAL_SEEDS = (0, 1, 2)
#: every final run validates this often (its record's ``val_curve``)
FINAL_VAL_INTERVAL = 500
#: the runner's stages, in order (each plans what the records allow)
STAGES = ('teacher', 'lr', 'tune', 'final')
#: the order in which ``run`` picks the next run among the stages: the
#: final runs of every method whose grid is complete come before more
#: tuning, so that the table's rows complete one by one
RUN_ORDER = ('teacher', 'lr', 'final', 'tune')


def run_name(stage: str, method: str, seed: int, variant: str = '') -> str:
    """The record's file name (without .json) and the work dir's name."""
    return '_'.join(p for p in (stage, method, variant, f's{seed}') if p)


def config_files_state(config: str) -> str:
    """A digest of what parsing ``config`` (relative to the repository, or
    absolute) depends on and what can change under a running process (a
    checkout): the size and modification time of ``config`` and of every
    file under ``distillation_configs/``, and the environment (a config may
    read ``{{$VAR}}``)."""
    paths = [osp.join(REPO, config)]
    for root, _, names in os.walk(osp.join(REPO, 'distillation_configs')):
        paths += [osp.join(root, name) for name in names]
    digest = hashlib.sha256()
    for path in sorted(paths):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            continue
        digest.update(f'{path}:{stat.st_mtime_ns}:{stat.st_size}\n'.encode())
    digest.update(json.dumps(sorted(os.environ.items())).encode())
    return digest.hexdigest()


#: held while configs are parsed with mmengine's logger quietened
_QUIET_PARSING = threading.RLock()


@contextlib.contextmanager
def quiet_config_parsing() -> Iterator[None]:
    """Configs parsed in the block leave out mmengine's INFO line for each
    ``{{$VAR}}`` they fill (CAMVID_ROOT): the planner and the runner parse
    the protocol's configs, and their teachers' and students', hundreds of
    times. The logger's level is restored after; one block at a time (the
    runner's threads parse configs too)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    with _QUIET_PARSING:
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            logger.setLevel(level)


@functools.lru_cache(maxsize=None)
def _parsed_config(path: str, state: str) -> 'Config':
    """``path`` parsed, once per :func:`config_files_state` ``state``
    (:func:`quiet_config_parsing`)."""
    from mmengine.config import Config
    with quiet_config_parsing():
        return Config.fromfile(path)


def load_config(config: str) -> 'Config':
    """``config`` (relative to the repository, or absolute) parsed, as a
    copy the caller may change. Parsed once while the config files stay as
    they are (:func:`config_files_state`): planning reads the same few
    files hundreds of times (mmengine's parsing takes 0.1 s a file)."""
    path = osp.join(REPO, config)
    return copy.deepcopy(_parsed_config(path, config_files_state(path)))


def config_weights(config: str) -> Dict[str, Union[float, dict]]:
    """Loss name -> loss_weight of a distillation config as it is written:
    a number, or the settings of a weight set in training (a plain dict,
    e.g. ``{'type': 'Calibrated', 'ratio': 1.5, 'on': 'grad'}``)."""

    def as_written(weight: Union[float, dict]) -> Union[float, dict]:
        return weight.to_dict() if isinstance(weight, dict) else float(weight)

    cfg = load_config(config)
    return {
        k: as_written(v.get('loss_weight', 1.0))
        for k, v in cfg.model.distill.losses.items()
    }


def published_row(method: str) -> str:
    """The row whose config holds ``method``'s published loss weights
    (itself, or for a row of :data:`SET_IN_TRAINING` the row it is
    compared with)."""
    return SET_IN_TRAINING.get(method, method)


def published_weights(config: str) -> Dict[str, float]:
    """Loss name -> loss_weight of a distillation config whose weights are
    numbers (a row's config: its published weights).

    Raises:
        ValueError: a weight set in training (a ``Calibrated`` dict), which
            has no number to scale; the published weights of such a row
            are in the config of :func:`published_row`.
    """
    weights = config_weights(config)
    for name, weight in weights.items():
        if isinstance(weight, dict):
            raise ValueError(
                f'{config}: {name}\'s loss_weight is set in training '
                f'({weight}), not a number; the published weights are those '
                'of the row it is compared with (protocol.published_row)')
    return weights


def config_max_iters(config: str) -> int:
    """The iterations ``config`` (a path relative to the repository) trains
    for: its ``train_cfg.max_iters``."""
    return load_config(config).train_cfg.max_iters


def config_checkpoint_interval(config: str) -> int:
    """How often ``config`` (a path relative to the repository) writes a
    checkpoint to resume from (iterations): its
    ``default_hooks.checkpoint.interval``."""
    return load_config(config).default_hooks.checkpoint.interval


def is_distillation(method: str) -> bool:
    """Whether a row trains a student with a teacher."""
    return method not in BASELINES and method != 'teacher'


def student_of(method: str) -> str:
    """The student alone a row trains (itself for a student alone or the
    teacher)."""
    if not is_distillation(method):
        return method
    return STUDENT_OF.get(method, 'baseline')


def shares_the_lr(method: str) -> bool:
    """Whether a row's student is the PSPNet trained with the learning rate
    chosen for it (the ESPNet rows keep their student's fixed recipe)."""
    return STUDENT_OF.get(method, 'baseline') == 'baseline'
