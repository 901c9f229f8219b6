"""The flow metrics: each module of this package computes one metric of METRICS.md.

A metric module holds the metric's function, its result type and a docstring citing its
METRICS.md section; every metric reads the team's timeline index
(:class:`~insights.timeline_index.Timelines`, built once by
:func:`~insights.metrics.flow_items.item_timelines`), and :mod:`insights.report` composes them.
Conventions all metrics share (calendar days, duration summaries, per-period counts) live in
:mod:`insights.metrics.shared`. Adding a metric is one module plus its test.

Every function is pure: ``now``, the window and the team's time zone are parameters.
"""
