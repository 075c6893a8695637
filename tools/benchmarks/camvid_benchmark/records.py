# Copyright (c) mmseg_kd contributors. All rights reserved.
"""A run's record: the settings its result depends on (compared before a
record is reused), the scores parsed from mmseg's test log and what the run
logged over training; reading the records of a folder."""
import functools
import glob
import hashlib
import json
import os
import os.path as osp
import re
import statistics
import subprocess
from typing import Any, Dict, List, Optional, Tuple

from .protocol import (BASELINES, REPO, TEACHER_CHECKPOINT, config_files_state,
                       load_config, quiet_config_parsing)

#: the sections of a config that decide a run's result (not helper
#: variables, logging or checkpoint intervals)
RESULT_SECTIONS = ('model', 'train_dataloader', 'val_dataloader',
                   'test_dataloader', 'val_evaluator', 'test_evaluator',
                   'optim_wrapper', 'param_scheduler', 'train_cfg',
                   'randomness')


def _without_data_roots(obj: Any) -> Any:
    """``obj`` with every ``data_root`` value replaced by a placeholder:
    where this machine keeps CamVid ($CAMVID_ROOT) does not decide a result,
    and records must be reusable on another machine."""
    if isinstance(obj, dict):
        return {
            k: '<data_root>' if k == 'data_root' else _without_data_roots(v)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [_without_data_roots(v) for v in obj]
    return obj


def resolved_config_hash(config: str, options: dict) -> str:
    """sha256 of the sections of the run's resolved config that decide its
    result (:data:`RESULT_SECTIONS`), so a record is reused only for the
    same settings, whatever file layout gave them. Computed once while the
    config files stay as they are (:func:`config_files_state`)."""
    key = (config, json.dumps(options, sort_keys=True,
                              default=str), config_files_state(config))
    if key not in _RESOLVED_HASHES:
        _RESOLVED_HASHES[key] = _hash_resolved_config(config, options)
    return _RESOLVED_HASHES[key]


#: (config, options as JSON, config_files_state) -> resolved_config_hash
_RESOLVED_HASHES: Dict[Tuple[str, str, str], str] = {}


def _hash_resolved_config(config: str, options: dict) -> str:
    """:func:`resolved_config_hash`, computed."""
    from mmseg_kd.segmentors import resolve_model_entry
    cfg = load_config(config)
    if options:
        cfg.merge_from_dict(dict(options))
    sections = {k: cfg.get(k) for k in RESULT_SECTIONS}
    model = cfg.model.to_dict()
    for side in ('teacher', 'student'):  # the models, not their files
        if model.get('type') == 'DistillationSegmentor' and side in model:
            with quiet_config_parsing():
                resolved, opts = resolve_model_entry(model[side], side)
            model[side] = dict(opts, model=resolved.to_dict())
    sections['model'] = model
    text = json.dumps(
        _without_data_roots(sections), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_hash(path: str) -> Optional[str]:
    """sha256 of a file (16 hex digits); None where there is none. Read
    once while its size and modification time stay the same."""
    if not osp.isfile(path):
        return None
    stat = os.stat(path)
    return _file_hash(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)
def _file_hash(path: str, mtime_ns: int, size: int) -> str:
    """:func:`file_hash` of ``path`` as it is at ``mtime_ns``, ``size``."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:16]


def settings_of(run: dict) -> dict:
    """What a run's result depends on."""
    settings = dict(
        config=run['config'],
        options=run['options'],
        seed=run['seed'],
        resolved=resolved_config_hash(run['config'], run['options']))
    if run['method'] not in ('teacher', ) + BASELINES:
        settings['teacher'] = file_hash(osp.join(REPO, TEACHER_CHECKPOINT))
    return settings


def load_records(folder: str) -> Dict[str, dict]:
    """Run name -> record, of every ``*.json`` in ``folder``."""
    out = {}
    for path in sorted(glob.glob(osp.join(folder, '*.json'))):
        with open(path) as f:
            out[osp.splitext(osp.basename(path))[0]] = json.load(f)
    return out


def read_record(records_dir: str, name: str) -> Optional[dict]:
    """The record ``name`` in ``records_dir`` as it is on disk (stale or
    not); None if there is none."""
    try:
        with open(osp.join(records_dir, name + '.json')) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def is_done(run: dict, records: Dict[str, dict]) -> bool:
    """Whether ``run`` has a record made with its settings."""
    record = records.get(run['name'])
    return record is not None and record.get('settings') == settings_of(run)


_IOU_ROW = re.compile(r'^\|\s*([A-Za-z][\w ]*?)\s*\|\s*([\d.]+|nan)\s*\|')
_MIOU = re.compile(r'mIoU: ([\d.]+)')


def parse_metrics(log: str) -> dict:
    """mIoU and per-class IoU from a tools/test.py log (mmseg's table)."""
    per_class = {}
    for line in log.splitlines():
        match = _IOU_ROW.match(line.strip())
        if match and match.group(1) != 'Class':
            value = match.group(2)
            per_class[match.group(1)] = None if value == 'nan' else float(
                value)
    found = _MIOU.findall(log)
    if not found:
        raise RuntimeError('no mIoU in the test log')
    return dict(mIoU=float(found[-1]), per_class_IoU=per_class)


def code_version() -> str:
    """The repository's commit (short), or ``'unknown'`` outside git."""
    try:
        return subprocess.check_output(['git', 'rev-parse', '--short', 'HEAD'],
                                       cwd=REPO,
                                       text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


#: iterations per window of the training curves a record keeps
CURVE_WINDOW = 1000


def curves_of(work: str) -> dict:
    """What a run logged over time, small enough for its record:
    ``val_curve`` (iteration -> validation mIoU) and ``train_curves`` (each
    logged loss and distillation diagnostic -> iteration at the end of each
    window of :data:`CURVE_WINDOW` iterations -> the mean of its logged
    values in the window). Read from mmengine's scalar logs of every
    ``<timestamp>`` dir of the work dir, in time order, so that a resumed
    run's later values win."""
    from mmseg_kd.visualization import loss_log
    records: List[dict] = []
    for sub in sorted(glob.glob(osp.join(work, '*'))):
        if osp.isdir(sub) and loss_log.TIMESTAMP_DIR.match(osp.basename(sub)):
            for log in loss_log.find_logs(sub):
                if log.endswith('.json'):
                    records += loss_log.read_log(log)
    val = {
        int(r['step']): round(float(r['mIoU']), 2)
        for r in records if 'mIoU' in r and 'step' in r
    }
    series = dict(loss_log.loss_series(records))
    series.update(loss_log.diagnostic_series(records))
    train: Dict[str, Dict[str, float]] = {}
    for key, (its, values) in series.items():
        windows: Dict[int, List[float]] = {}
        for it, value in zip(its, values):
            if value == value and abs(value) != float('inf'):
                end = (int(it) - 1) // CURVE_WINDOW * CURVE_WINDOW
                windows.setdefault(end + CURVE_WINDOW, []).append(value)
        train[key] = {
            str(end): round(statistics.mean(v), 5)
            for end, v in sorted(windows.items())
        }
    return dict(
        val_curve={
            str(k): v
            for k, v in sorted(val.items())
        },
        train_curves=train)


def iterations_of(record: dict) -> int:
    """The iterations a finished run trained (its last curve window)."""
    windows = [
        int(k) for c in record.get('train_curves', {}).values() for k in c
    ]
    return max(windows, default=0)
