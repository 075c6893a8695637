# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The log keys of the training diagnostics: written by the training
monitor (:mod:`mmseg_kd.segmentors.monitor`) as ``<prefix>/<term>``, read by
the log tools (:mod:`mmseg_kd.visualization.loss_log`); TensorBoard groups
them by prefix."""

#: a term's value over the student's task loss
RATIO = 'kd_ratio'
#: pixel accuracy of the student's argmax against the teacher's
AGREEMENT = 'kd_agreement'
#: cosine between the term's and the task loss's gradients on the student
COSINE = 'kd_cosine'
#: the term's gradient norm over the task loss's
GRAD_RATIO = 'kd_grad_ratio'
#: a Calibrated weight
WEIGHT = 'kd_weight'
#: the weight schedule's (and batch rescaling's) factor
FACTOR = 'kd_factor'

#: every diagnostic prefix, as a log key starts
DIAGNOSTIC_PREFIXES = tuple(f'{p}/' for p in (RATIO, AGREEMENT, COSINE,
                                              GRAD_RATIO, WEIGHT, FACTOR))
