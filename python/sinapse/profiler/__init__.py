"""sinapse.profiler: the CUDA profiler's models (placeholder; the lead's __init__ replaces this file).

resources: the per-kernel resource table nvcc reports (tools/cuda_resources.py); occupancy: sm_90's
occupancy rules; hardware: H100/H200 peaks; roofline: the time estimate of one profiled launch.
"""
