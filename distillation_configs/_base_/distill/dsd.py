# DSD, double similarity distillation (Feng et al., "Double Similarity
# Distillation for Semantic Image Segmentation", IEEE TIP 2021), as CIRKD
# re-implements and runs it: KD (./kd.py), pixel-wise similarity
# distillation on the residual attention between the head feature (the input
# of decode_head.conv_seg) and the logits (DSDPixelSimilarityLoss,
# loss_weight 1000, CIRKD's lambda_psd), and category-wise similarity of the
# 2x2-pooled, spatially softmaxed (tau 4) logits (DSDCategorySimilarityLoss,
# loss_weight 10, lambda_csd). CIRKD's table (Cityscapes val, DeepLabV3-R101
# teacher 78.07): R18 74.21 -> 74.81, MobileNetV2 73.12 -> 74.11.
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./kd.py']
feat = dict(path='decode_head.conv_seg', side='input')
distill = dict(
    student_tensors=dict(feat=feat),
    teacher_tensors=dict(feat=feat),
    losses=dict(
        loss_psd=dict(
            type='DSDPixelSimilarityLoss',
            student=('feat', 'logits'),
            teacher=('feat', 'logits'),
            loss_weight=1000.0),
        loss_csd=dict(
            type='DSDCategorySimilarityLoss',
            student='logits',
            teacher='logits',
            tau=4.0,
            loss_weight=10.0)))
