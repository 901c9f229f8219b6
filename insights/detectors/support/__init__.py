"""What the detectors share, not detectors themselves: the detection context and its facts.

``context`` (one :class:`~insights.detectors.support.context.DetectionContext` per run),
``ranking`` and ``severity`` (how findings are ordered and graded), ``wording`` (how they read),
``review_facts`` and ``overdue_prs`` (the pull-request facts the review detectors share).
Discovery in :mod:`insights.detectors` skips this package.
"""
