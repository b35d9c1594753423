"""Both accounts as AWS CDK (Python) stacks, derived from the one settings file.

Public entry points: :func:`infra.synth.synthesize` and the read-back helpers in :mod:`infra.extract`.
"""
