"""``python -m sinapse ARGS`` exactly (runpy runs the package's __main__ as ``-m`` does), with every
call to ``Model.save`` recorded: each rank that saves writes ``saved.rank<N>`` into the folder named
by SAVE_LOG, so a test can tell which processes saved (all of them would write the same --out)."""

import os
import runpy
import sys

from sinapse.models.model_base import ModelBase

_save = ModelBase.save


def recorded_save(self, *args, **kwargs):
    rank = os.environ.get("OMPI_COMM_WORLD_RANK") or os.environ.get("PMI_RANK") or "0"
    with open(os.path.join(os.environ["SAVE_LOG"], f"saved.rank{rank}"), "a") as log:
        log.write(f"{args[0] if args else kwargs}\n")
    return _save(self, *args, **kwargs)


ModelBase.save = recorded_save  # type: ignore[method-assign]
sys.argv[0] = "sinapse"
runpy.run_module("sinapse", run_name="__main__", alter_sys=True)
