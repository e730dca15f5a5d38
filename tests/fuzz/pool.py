"""The parent side of the fuzz worker: send a case, wait for its verdict with a timeout.

A worker that dies (segfault, abort, sanitizer report) or stays silent past the timeout is
replaced by a fresh one at the next case, so one crash costs one case, not the run.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
STARTUP_TIMEOUT = 300.0  # a cold start may rebuild the editable install
MEMORY_LIMIT = 6 << 30  # address space per worker: a runaway allocation fails instead of swapping the host


def _limit_memory():
    # AddressSanitizer reserves terabytes of virtual shadow memory: no limit under it.
    if "libasan" not in os.environ.get("LD_PRELOAD", ""):
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Worker:
    def __init__(self, timeout=30.0, script=WORKER):
        self.timeout, self.script = timeout, script
        self.proc = None
        self.counts = collections.Counter()  # (op, attack, verdict kind) -> cases

    def _start(self):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
        self.proc = subprocess.Popen(
            [sys.executable, self.script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            bufsize=1,
            env=env,
            preexec_fn=_limit_memory,
        )
        self.proc.stdin.write(json.dumps({"entry": "ping"}) + "\n")  # start-up is not part of a case's time
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], STARTUP_TIMEOUT)
        if not (ready and self.proc.stdout.readline()):
            self._dead(not ready, STARTUP_TIMEOUT)
            raise RuntimeError("the fuzz worker did not start (import sinapse or the base model file failed)")

    def run(self, case: dict, timeout: float | None = None) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout or self.timeout)
        line = self.proc.stdout.readline() if ready else None
        verdict = json.loads(line) if line else self._dead(line is None, timeout or self.timeout)
        what = case.get("op") or f"{case['entry']}:{case.get('method') or case.get('kind')}"
        self.counts[(what, case.get("attack") or case.get("craft") or case.get("special") or "", verdict["kind"])] += 1
        return verdict

    def _dead(self, hung: bool, timeout: float) -> dict:
        if hung:
            self.proc.kill()
        rc = self.proc.wait()
        self.stderr.seek(0)
        tail = self.stderr.read()[-3000:]
        self._release()
        if hung:
            return {"kind": "hang", "detail": f"no answer within {timeout:.0f} s"}
        how = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
        return {"kind": "crash", "detail": f"worker died ({how}); stderr:\n{tail}"}

    def _release(self):
        for f in (self.proc.stdin, self.proc.stdout, self.stderr):
            try:
                f.close()
            except OSError:  # a dead worker's stdin: broken pipe on flush
                pass
        self.proc = None

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()  # EOF: the worker's loop ends
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self._release()
