# Copyright (c) mmseg_kd contributors. All rights reserved.
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid road scenes, SegNet split (367 train, 101 val, 233 test images
    of 480x360), 11 classes; the original 'Unlabelled' class is 255 (void,
    ignored).

    Layout (mmseg style)::

        data_root/img_dir/{train,val,test}/NAME.jpg
        data_root/ann_dir/{train,val,test}/NAME.png   uint8, 0..10, 255

    ``tools/dataset_converters/camvid.py`` builds it from the SegNet
    tutorial's ``CamVid/`` folder.

    Args:
        img_suffix (str): Suffix of the images. Defaults to '.jpg'.
        seg_map_suffix (str): Suffix of the annotation maps. Defaults to
            '.png'.
        reduce_zero_label (bool): Whether to mark label 0 as ignored (and
            shift the others down by one). Defaults to False: 0 is 'Sky'.
        **kwargs: Further arguments of :class:`BaseSegDataset` (e.g.
            ``data_root``, ``data_prefix``, ``pipeline``).
    """

    METAINFO = dict(
        classes=('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree',
                 'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist'),
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
                 [60, 40, 222], [128, 128, 0], [192, 128, 128], [64, 64, 128],
                 [64, 0, 128], [64, 64, 0], [0, 128, 192]])

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
