# The baseline build of the kernels: see _kernels.pxi and setup.py.
include "_kernels.pxi"
