"""Side-by-side performance runs of topview-async against what a user would otherwise write.

Run ``python -m benchmarks`` (or ``nox -s bench``); ``--quick`` for a short run, ``--smoke``
for the seconds-long check the test suite runs. Every figure is a ratio against a baseline
measured in the same run, the median of several rounds, so noisy shared machines still give
comparable numbers. Results go to ``benchmarks/RESULTS.md``.

The SDK calls being measured live in :mod:`benchmarks._sdk` only: when an SDK API changes,
that is the one module to fix. A measurement whose SDK API cannot be imported or called is
reported as "not available" instead of stopping the run.
"""
