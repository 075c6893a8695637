# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from ..utils import ConvNormAct, ESPBlock, NormAct


def upsample2x(in_channels: int, out_channels: int) -> nn.ConvTranspose2d:
    """The paper's learned 2x upsampling: a bias-free 2x2 transposed
    convolution with stride 2."""
    return nn.ConvTranspose2d(
        in_channels, out_channels, kernel_size=2, stride=2, bias=False)


def crop_overhang(x: Tensor, size: Sequence[int]) -> Tensor:
    """Crop the bottom row / right column a 2x upsampling adds when the
    finer level has an odd size (stride-2 layers round sizes up, so
    2 * ceil(n / 2) is n or n + 1). The kept pixels are the ones aligned
    with the finer level (output pixel i of a stride-2 layer is centred on
    input pixel 2i). Anything else is returned unchanged."""
    h, w = x.shape[-2:]
    if 0 <= h - size[0] <= 1 and 0 <= w - size[1] <= 1:
        return x[..., :size[0], :size[1]]
    return x


@MODELS.register_module()
class ESPNetHead(BaseDecodeHead):
    """The decoder of ESPNet (Mehta et al., ECCV 2018): the encoder levels
    are projected to ``channels`` (the number of classes in the paper) and
    merged from coarse to fine with learned 2x upsampling, back to the
    input resolution.

    Level 3 (stride 8): 1x1 convolution, BN, 2x upsampling. Level 2
    (stride 4): 1x1 convolution, concatenated with the upsampled level 3,
    BN + PReLU, an ESP module (2 * channels -> channels, no residual), 2x
    upsampling, BN + PReLU. Level 1 (stride 2): concatenated with the
    level-1 features, 3x3 convolution, BN + PReLU. The classifier
    ``conv_seg`` is the last 2x upsampling (a 2x2 transposed convolution,
    stride 2, to ``num_classes``): it gives logits at the input resolution
    and is where distillation configs record them
    (``decode_head.conv_seg``), as for every mmseg head.

    For an odd input size the upsampled maps overhang the finer level by one
    row or column; they are cropped (:func:`crop_overhang`), and the logits
    (``2 * ceil(H / 2)`` rows) are cropped to the label or input size in
    :meth:`loss_by_feat` and :meth:`predict_by_feat` before
    ``BaseDecodeHead`` resizes them (then a no-op).

    Args:
        in_channels (Sequence[int]): Channels of the three encoder levels.
            Defaults to (19, 131, 256), those of ``ESPNetC``'s defaults.
        channels (int, optional): Width of the decoder. Defaults to None:
            ``num_classes``, as in the paper.
        num_classes (int): Number of classes.
        in_index (Sequence[int]): Indices of the stride-2, -4 and -8 levels
            in the backbone's outputs. Defaults to (0, 1, 2).
        num_branches (int): Dilated branches K of the ESP module.
            Defaults to 5.
        dropout_ratio (float): Dropout before ``conv_seg``. Defaults to 0
            (the paper uses none).
        norm_cfg (dict): Normalisation layer config.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        act_cfg (dict): Activation config. Defaults to
            ``dict(type='PReLU')`` (one slope per channel).
        **kwargs: The other arguments of ``BaseDecodeHead`` (``loss_decode``,
            ``ignore_index``, ``align_corners``, ``init_cfg``, ...);
            ``input_transform`` is always ``'multiple_select'``.

    Returns:
        Tensor: Logits (B, num_classes, 2 * ceil(H / 2), 2 * ceil(W / 2))
        from :meth:`forward` for an (H, W) input image.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (19, 131, 256),
                 channels: Optional[int] = None,
                 *,
                 num_classes: int,
                 in_index: Sequence[int] = (0, 1, 2),
                 num_branches: int = 5,
                 dropout_ratio: float = 0.,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 act_cfg: OptConfigType = dict(type='PReLU'),
                 **kwargs) -> None:
        if len(in_channels) != 3 or len(in_index) != 3:
            raise ValueError('ESPNetHead takes three levels (strides 2, 4, '
                             f'8), got in_channels={in_channels}, '
                             f'in_index={in_index}.')
        super().__init__(
            list(in_channels),
            num_classes if channels is None else channels,
            num_classes=num_classes,
            in_index=list(in_index),
            input_transform='multiple_select',
            dropout_ratio=dropout_ratio,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            **kwargs)
        c1, c2, c3 = self.in_channels
        c = self.channels
        common = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.level3_proj = nn.Conv2d(c3, c, 1, bias=False)
        self.level3_norm = NormAct(c, norm_cfg, act_cfg=None)
        self.level3_up = upsample2x(c, c)
        self.level2_proj = nn.Conv2d(c2, c, 1, bias=False)
        self.level2_norm = NormAct(2 * c, **common)
        self.level2_esp = ESPBlock(
            2 * c, c, num_branches=num_branches, residual=False, **common)
        self.level2_up = upsample2x(c, c)
        self.level2_up_norm = NormAct(c, **common)
        self.level1_fuse = ConvNormAct(c1 + c, c, 3, **common)
        # BaseDecodeHead made a 1x1 conv_seg; ESPNet's classifier is the
        # final 2x upsampling.
        self.conv_seg = upsample2x(c, self.out_channels)

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tensor:
        """Logits at twice the stride-2 level's size (the input size for an
        even input)."""
        x1, x2, x3 = self._transform_inputs(inputs)
        up3 = self.level3_up(self.level3_norm(self.level3_proj(x3)))
        up3 = crop_overhang(up3, x2.shape[-2:])
        out = self.level2_norm(torch.cat([self.level2_proj(x2), up3], dim=1))
        up2 = crop_overhang(
            self.level2_up(self.level2_esp(out)), x1.shape[-2:])
        out = self.level1_fuse(
            torch.cat([self.level2_up_norm(up2), x1], dim=1))
        return self.cls_seg(out)

    def loss_by_feat(self, seg_logits: Tensor,
                     batch_data_samples: SampleList) -> dict:
        """``BaseDecodeHead.loss_by_feat`` on the logits cropped to the
        labels' size."""
        size = batch_data_samples[0].gt_sem_seg.data.shape[-2:]
        return super().loss_by_feat(
            crop_overhang(seg_logits, size), batch_data_samples)

    def predict_by_feat(self, seg_logits: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """``BaseDecodeHead.predict_by_feat`` on the logits cropped to the
        size it resizes to (the input batch's)."""
        meta = batch_img_metas[0]
        if isinstance(meta['img_shape'], torch.Size):  # slide inference
            size = meta['img_shape']
        else:
            size = meta.get('pad_shape', meta['img_shape'])[:2]
        return super().predict_by_feat(
            crop_overhang(seg_logits, size), batch_img_metas)
