"""FixBench: realistic buggy job handlers with hidden acceptance checks.

Each case under ``cases/`` holds an app tree with one bug, the job data that makes it fail, and
inputs with expected outputs that the repair pipeline never sees. ``acceptance`` runs those inputs
against the original or a patched tree; ``report`` turns per-case verdicts into the numbers we
track (fix rate, false-fix rate, time to verdict, tokens).
"""
