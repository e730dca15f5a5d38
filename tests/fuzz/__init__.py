"""The fuzz suite's machinery (not collected by pytest: no test_ files here).

specs.py   one hypothesis strategy per public op: a valid call with small random sizes
attacks.py the issue-11 attack classes applied to those calls (dtypes, ranks, layouts, ...)
oracle.py  what a case must do: a clear error, or the reference's answer (NaN positions too)
worker.py  runs cases in a subprocess, one JSON line in, one JSON line out
pool.py    the parent side: feeds the worker, turns a dead or stuck worker into a result
files.py   model-file and Sequential cases
"""
