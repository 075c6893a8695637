# CGD+WS (SegDistill's CGDLossWS, "CGD+SW" in its table 5), SegFormer-B3 ->
# SegFormer-B0 on ADE20K: CGD as
# ./cgd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py with a
# weight schedule: the weight (3) ramps linearly from 0 over the first 2000
# iterations, stays constant, then falls linearly to 0 between iterations
# 110k and 120k and stays 0 for the last 40k of the 160k (logged as
# kd_factor/loss_cgd). The reference counts steps from 1 (its step s is the
# runner's iteration s - 1), so its factor at step s is s / 2000 during the
# ramp (1/2000 at the first step) and (120000 - s) / 10000 during the decay:
# the phases below are those, in runner iterations.
# Published (SegDistill README table 5, ADE20K val mIoU / mAcc; teacher
# SegFormer-B3 50.0): SegFormer-B0 38.0 / 48.76 -> 41.27 / 52.78.
# Teacher: mmseg's model-zoo SegFormer-B3 (160k; 47.82 val),
# segformer_mit-b3_512x512_160k_ade20k_20210726_081410-962b98d2.pth,
# downloaded from download.openmmlab.com.
#   tools/dist_train.sh distillation_configs/cgd/cgd-ws_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py 8
_base_ = ['./cgd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py']
distill = _base_.distill
distill.losses.loss_cgd.weight_schedule = [
    dict(type='LinearWarmup', begin=-1, end=1999),
    dict(type='LinearDecay', begin=109999, end=119999)
]
model = dict(distill=distill)
