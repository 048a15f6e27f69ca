"""asv benchmarks for logsoftmax_c, one module per function family.

Shared inputs and the timing function of the track_* figures are in ``common``.
"""
