# IFVD (Wang et al., ECCV 2020; YukangWang/IFVD), the repo's defaults
# without its adversarial term (with it: ./ifvd_adversarial.py):
#   * IFV loss: cosine of each pixel's feature to its class prototype in the
#     same image, MSE between the two networks' maps, loss_weight 200, on
#     the PSP module output after Dropout2d(0.1) as the reference takes it:
#     the input of decode_head.conv_seg (each network in its own channel
#     space, no connector; the teacher's dropout is off, it runs in eval
#     mode);
#   * pixel-wise KD on the 1/8 logits with nn.KLDivLoss's default 'mean'
#     (KDLoss reduction='element_mean', tau 1), loss_weight 10.
# IFVDLoss needs the dataset's class count: a config sets it with
#   distill.losses.loss_ifv.num_classes = K
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
distill = dict(
    student_tensors=dict(
        logits='decode_head.conv_seg',
        feat=dict(path='decode_head.conv_seg', side='input')),
    teacher_tensors=dict(
        logits='decode_head.conv_seg',
        feat=dict(path='decode_head.conv_seg', side='input')),
    losses=dict(
        loss_ifv=dict(
            type='IFVDLoss', student='feat', teacher='feat',
            loss_weight=200.0),
        loss_kd=dict(
            type='KDLoss',
            student='logits',
            teacher='logits',
            tau=1.0,
            reduction='element_mean',
            loss_weight=10.0)))
