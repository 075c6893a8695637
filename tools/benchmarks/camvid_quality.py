# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Distillation quality on real data: CamVid, every method, several seeds.

    python tools/benchmarks/camvid_quality.py [--protocol cpu|full]
        [--work-dir work_dirs/camvid_quality] [--methods kd cwd_logits ...]
        [--seeds 0 1] [--table docs/benchmarks/camvid_quality.md]

One teacher is trained once; then the same student is trained with no
distillation and with each method, under one schedule, for every seed, and
evaluated with mmseg's IoUMetric on the CamVid test split (233 images,
SegNet split). The table reports the mean and the spread (max - min) of the
test mIoU over the seeds, next to the baseline's.

Each method's ``distill`` section (tensors, losses, weights, and for SKD's
adversarial term its discriminator optimizer) is taken unchanged from the
shipped CamVid config in ``distillation_configs/<method>/``, so the table
measures those configs, with the published loss weights.

Protocols:

``cpu`` (default; a 2-core CPU): images at half resolution
(240x180, random scale 0.5-2, 128x128 crops, flips), batch 8, PSPNet with a
dilated ResNet-18 trained from scratch (no weights can be downloaded): the
teacher at width 32 (3000 iterations), the student at width 8 (600
iterations each run), SGD lr 0.05, poly decay. Test inputs at 240x180,
predictions scored against the full 480x360 labels (mmseg resizes them back).
About two hours in all.

``full`` (a GPU machine): the shipped configs as they are: PSPNet-R101
teacher (trained with the baseline config) -> ImageNet-initialised
PSPNet-R18, 360x360 crops, 40k iterations; three seeds.

Runs are independent subprocesses; finished runs are read back from
``results.jsonl`` and skipped, so the benchmark can be interrupted and
restarted.
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = osp.join(REPO, 'distillation_configs')

#: method name -> shipped CamVid config whose ``distill`` section is used
METHODS = {
    'kd': 'kd/kd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
    'cwd_logits': 'cwd/cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'cwd_feature': 'cwd/cwd_feature_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'skd_pixel_pair': 'skd/skd_pixel-pair_pspnet_r101-d8_pspnet_r18-d8_'
    '4xb2-40k_camvid-360x360.py',
    'skd_holistic': 'skd/skd_pixel-pair-holistic_pspnet_r101-d8_pspnet_r18-'
    'd8_4xb2-40k_camvid-360x360.py',
    'ifvd': 'ifvd/ifvd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'cgd': 'cgd/cgd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
    'dist': 'dist/dist_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'fitnet': 'fitnet/fitnet_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'at': 'at/at_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
    'cirkd': 'cirkd/cirkd_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_'
    'camvid-360x360.py',
}

#: variant -> (method it varies, what changes); run on request and tabled
#: after the methods.
VARIANTS = {
    'skd_pixel_pair_per_image': (
        'skd_pixel_pair',
        'weights of batch-summed terms x 2 / batch size: the per-image '
        'strength of the shipped 4xb2 config'),
}
SHIPPED_IMAGES_PER_GPU = 2  # every shipped CamVid config is 4xb2 or 8xb2


def method_config(method: str, batch_size: int):
    """The shipped config of ``method`` (a key of METHODS or VARIANTS);
    for a variant, with its change applied for ``batch_size`` images per
    process."""
    from mmengine.config import Config
    parent = VARIANTS[method][0] if method in VARIANTS else method
    cfg = Config.fromfile(osp.join(CONFIGS, METHODS[parent]))
    if method == 'skd_pixel_pair_per_image':
        for loss in cfg.model.distill.losses.values():
            if loss.get('reduction') == 'batch_sum':
                loss.loss_weight *= SHIPPED_IMAGES_PER_GPU / batch_size
    return cfg


PROTOCOLS = dict(
    cpu=dict(
        scale=(240, 180),
        crop=(128, 128),
        batch_size=8,
        lr=0.05,
        teacher_width=32,
        student_width=8,
        teacher_iters=3000,
        student_iters=600,
        seeds=(0, 1)),
    full=dict(
        teacher_config='baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py',
        student_config='baselines/pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
        seeds=(0, 1, 2)))


def small_model(width: int, crop) -> dict:
    """PSPNet with a dilated ResNet-18 at ``width`` base channels, for
    CamVid's 11 classes, from distillation_configs/_base_/models."""
    from mmengine.config import Config
    model = Config.fromfile(
        osp.join(CONFIGS, '_base_', 'models',
                 'pspnet_r18-d8_shapes.py')).model.to_dict()
    model['data_preprocessor']['size'] = tuple(crop)
    model['backbone'].update(stem_channels=width, base_channels=width)
    model['decode_head'].update(
        in_channels=8 * width, channels=2 * width, num_classes=11)
    model['auxiliary_head'].update(
        in_channels=4 * width, channels=width, num_classes=11)
    return model


def cpu_config(run: dict, proto: dict, work_dir: str):
    """The mmengine config of one run of the cpu protocol."""
    from mmengine.config import Config
    base = Config.fromfile(osp.join(CONFIGS, METHODS['kd']))
    cfg = Config(dict(
        default_scope='mmseg',
        custom_imports=dict(imports=['mmseg_kd'],
                            allow_failed_imports=False),
        env_cfg=base.env_cfg,
        log_processor=dict(by_epoch=False),
        log_level='INFO',
        load_from=None,
        resume=False,
        visualizer=dict(type='SegLocalVisualizer',
                        vis_backends=[dict(type='LocalVisBackend')],
                        name='visualizer'),
        val_evaluator=base.val_evaluator,
        test_evaluator=base.test_evaluator,
        val_cfg=dict(type='ValLoop'),
        test_cfg=dict(type='TestLoop'),
        randomness=dict(seed=run['seed'])))
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader] = copy.deepcopy(base[loader])
        cfg[loader].num_workers = 1
        cfg[loader].persistent_workers = True
    cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
    cfg.train_dataloader.batch_size = proto['batch_size']
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'RandomResize':
            step['scale'] = tuple(proto['scale'])
        if step['type'] == 'RandomCrop':
            step['crop_size'] = tuple(proto['crop'])
    cfg.train_dataloader.dataset.pipeline = [
        s for s in cfg.train_dataloader.dataset.pipeline
        if s['type'] != 'PhotoMetricDistortion'
    ]
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = tuple(proto['scale'])
    cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
    iters = proto['teacher_iters'] if run['role'] == 'teacher' else \
        proto['student_iters']
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters,
                         val_interval=iters + 1)
    cfg.default_hooks = dict(
        timer=dict(type='IterTimerHook'),
        logger=dict(type='LoggerHook', interval=100,
                    log_metric_by_epoch=False),
        param_scheduler=dict(type='ParamSchedulerHook'),
        checkpoint=dict(type='CheckpointHook', by_epoch=False,
                        interval=iters, max_keep_ckpts=1),
        sampler_seed=dict(type='DistSamplerSeedHook'))
    optimizer = dict(type='SGD', lr=proto['lr'], momentum=0.9,
                     weight_decay=1e-4)
    poly = dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=iters,
                by_epoch=False)
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
    cfg.param_scheduler = [poly]
    cfg.work_dir = work_dir
    student = small_model(proto['student_width'], proto['crop'])
    if run['role'] == 'teacher':
        cfg.model = small_model(proto['teacher_width'], proto['crop'])
    elif run['method'] == 'baseline':
        cfg.model = student
    else:
        method = method_config(run['method'], proto['batch_size'])
        cfg.model = dict(
            type='DistillationSegmentor',
            teacher=dict(model=small_model(proto['teacher_width'],
                                           proto['crop']),
                         checkpoint=run['teacher_checkpoint']),
            student=dict(model=student),
            distill=dict(method.model.distill.to_dict(),
                         probe_size=tuple(proto['crop'])))
        cfg.custom_hooks = [dict(type='ExportStudentHook')]
        cfg.model_wrapper_cfg = method.get('model_wrapper_cfg')
        ow = method.optim_wrapper
        if ow.get('constructor') == 'DistillationOptimWrapperConstructor' \
                and 'student' in ow:  # e.g. the SKD discriminator
            ow = copy.deepcopy(ow.to_dict())
            ow['student']['optimizer'] = optimizer
            cfg.optim_wrapper = ow
            cfg.param_scheduler = {
                name: [dict(poly, eta_min=0.0 if name != 'student' else
                            1e-4)]
                for name in ow if name != 'constructor'
            }
    return cfg


def full_config(run: dict, proto: dict, work_dir: str):
    """One run of the full protocol: the shipped configs as they are."""
    from mmengine.config import Config
    if run['role'] == 'teacher':
        cfg = Config.fromfile(osp.join(CONFIGS, proto['teacher_config']))
    elif run['method'] == 'baseline':
        cfg = Config.fromfile(osp.join(CONFIGS, proto['student_config']))
    else:
        cfg = method_config(run['method'], SHIPPED_IMAGES_PER_GPU)
        cfg.model.teacher.checkpoint = run['teacher_checkpoint']
    cfg.randomness = dict(seed=run['seed'])
    cfg.work_dir = work_dir
    return cfg


def run_one(spec_path: str) -> None:
    """Train and test one run (in its own process); write its result."""
    from mmengine.runner import Runner
    import mmseg_kd  # noqa: F401
    with open(spec_path) as f:
        run = json.load(f)
    proto = run['proto']
    build = cpu_config if run['protocol'] == 'cpu' else full_config
    cfg = build(run, proto, run['work_dir'])
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_s = time.time() - start
    metrics = runner.test()
    result = dict(run, mIoU=float(metrics['mIoU']),
                  aAcc=float(metrics['aAcc']), train_seconds=train_s)
    ckpts = glob.glob(osp.join(run['work_dir'], 'iter_*.pth'))
    result['checkpoint'] = max(ckpts, key=osp.getmtime)
    with open(run['result_path'], 'w') as f:
        json.dump(result, f)


def relevant_settings(run: dict) -> list:
    """The protocol settings a run's result depends on: the teacher's
    does not depend on the student's settings, and no run on the list of
    seeds."""
    student_only = ('student_iters', 'student_width', 'student_config')
    return [key for key in run['proto'] if key != 'seeds' and (
        run.get('role') != 'teacher' or key not in student_only)]


def launch(run: dict, work_root: str) -> dict:
    """Run ``run`` in a subprocess unless its result exists."""
    name = run['name']
    run = dict(run, work_dir=osp.join(work_root, name),
               result_path=osp.join(work_root, name, 'result.json'))
    if osp.exists(run['result_path']):
        with open(run['result_path']) as f:
            done = json.load(f)
        differ = sorted(
            key for key in relevant_settings(run)
            if json.loads(json.dumps(run['proto'].get(key))) !=
            done['proto'].get(key))
        if differ:
            sys.exit(f'{run["result_path"]} was made with other protocol '
                     f'settings ({", ".join(differ)} differ); pass another '
                     '--work-dir or delete it.')
        return done
    os.makedirs(run['work_dir'], exist_ok=True)
    spec = osp.join(run['work_dir'], 'run.json')
    with open(spec, 'w') as f:
        json.dump(run, f)
    print(f'[{time.strftime("%H:%M:%S")}] {name} ...', flush=True)
    log = osp.join(run['work_dir'], 'stdout.log')
    with open(log, 'w') as out:
        code = subprocess.call(
            [sys.executable, __file__, '--run-one', spec], stdout=out,
            stderr=subprocess.STDOUT)
    if code != 0 or not osp.exists(run['result_path']):
        print(f'    FAILED (exit {code}); see {log}', flush=True)
        return dict(run, mIoU=None, error=f'exit {code}, see {log}')
    with open(run['result_path']) as f:
        result = json.load(f)
    print(f'    test mIoU {result["mIoU"]:.2f} '
          f'({result["train_seconds"] / 60:.1f} min)', flush=True)
    return result


def table(results, teacher, protocol: str, proto: dict) -> str:
    """Markdown table: mean and spread per method, gain over baseline."""
    seeds = proto['seeds']
    by_method = {}
    for r in results:
        by_method.setdefault(r['method'], []).append(r)
    base = [r['mIoU'] for r in by_method.get('baseline', [])
            if r.get('mIoU') is not None]
    base_mean = statistics.mean(base) if base else float('nan')
    lines = [
        f'| method | config | test mIoU, mean over seeds {list(seeds)} '
        '| spread (max - min) | vs. baseline | per seed |',
        '|---|---|---|---|---|---|',
    ]
    for method in ['baseline'] + list(METHODS) + list(VARIANTS):
        runs = by_method.get(method, [])
        if not runs:
            continue
        values = [r['mIoU'] for r in runs if r.get('mIoU') is not None]
        if method == 'baseline':
            cfg = 'student alone'
        elif method in VARIANTS:
            cfg = f'as {VARIANTS[method][0]}, {VARIANTS[method][1]}'
        else:
            cfg = f'`{METHODS[method]}`'
        if not values:
            lines.append(f'| {method} | {cfg} | failed | | | '
                         f'{runs[0].get("error", "")} |')
            continue
        mean = statistics.mean(values)
        gain = '' if method == 'baseline' else f'{mean - base_mean:+.2f}'
        lines.append(
            f'| {method} | {cfg} | {mean:.2f} | '
            f'{max(values) - min(values):.2f} | {gain} | ' +
            ', '.join(f'{v:.2f}' for v in values) + ' |')
    settings = ', '.join(f'{k}={v}' for k, v in proto.items()
                         if k != 'seeds')
    head = [f'Protocol `{protocol}` ({settings}); teacher test mIoU '
            f'{teacher.get("mIoU", float("nan")):.2f}.', '']
    return '\n'.join(head + lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--protocol', choices=list(PROTOCOLS), default='cpu')
    parser.add_argument('--work-dir', default='work_dirs/camvid_quality')
    parser.add_argument('--methods', nargs='+',
                        choices=list(METHODS) + list(VARIANTS),
                        default=list(METHODS) + list(VARIANTS))
    parser.add_argument('--seeds', nargs='+', type=int)
    parser.add_argument('--table', help='also write the table to this file')
    parser.add_argument(
        '--set', nargs='+', default=[], metavar='KEY=INT',
        help='override integer protocol settings, e.g. student_iters=100')
    parser.add_argument('--run-one', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        run_one(args.run_one)
        return
    proto = dict(PROTOCOLS[args.protocol])
    for item in args.set:
        key, value = item.split('=')
        if key not in proto:
            sys.exit(f'--set: unknown setting {key!r}; one of {list(proto)}')
        proto[key] = int(value)
    seeds = args.seeds or proto['seeds']
    work = osp.abspath(osp.join(args.work_dir, args.protocol))
    common = dict(protocol=args.protocol, proto=proto)
    teacher = launch(dict(common, name='teacher', role='teacher',
                          method='teacher', seed=0), work)
    if teacher.get('mIoU') is None:
        sys.exit('The teacher failed to train; see its stdout.log.')
    results = []
    # Seed-major order: an interrupted benchmark leaves whole seeds behind.
    for seed in seeds:
        for method in ['baseline'] + args.methods:
            results.append(launch(dict(
                common, name=f'{method}_seed{seed}', role='student',
                method=method, seed=seed,
                teacher_checkpoint=teacher['checkpoint']), work))
    text = table(results, teacher, args.protocol, dict(proto, seeds=seeds))
    print('\n' + text)
    with open(osp.join(work, 'table.md'), 'w') as f:
        f.write(text)
    if args.table:
        os.makedirs(osp.dirname(osp.abspath(args.table)), exist_ok=True)
        with open(args.table, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
