# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The CamVid quality benchmark behind ``tools/benchmarks/camvid_quality.py``.

One job per module, each importing only those above it:

* :mod:`.protocol`: the fixed protocol (configs, rows, grids, seeds,
  schedules) and the names of its runs;
* :mod:`.grid`: the loss-weight grid of each method and its chosen point;
* :mod:`.records`: a run's record (its settings, scores and curves);
* :mod:`.plan`: the runs each stage plans from the records so far;
* :mod:`.execution`: training, evaluating and recording one run;
* :mod:`.scheduler`: which run next, ``--jobs`` at a time, by
  ``--stop-by``;
* :mod:`.reports`, :mod:`.calibration_report` and :mod:`.plots`: the
  generated tables and figures.
"""
