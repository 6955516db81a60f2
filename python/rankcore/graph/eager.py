"""``eager_only``: ``torch.compiler.disable`` without importing torch._dynamo when rankcore is imported.

The graph entry points that loop over native calls, start worker threads or turn native errors into Python
exceptions must run eagerly under ``torch.compile`` (dynamo would trace into them). ``@torch.compiler.disable``
does that but imports torch._dynamo at decoration time: 0.9 s of rankcore's 1.8 s import, paid by every CLI
run and spawned process although nothing is compiled. This decorator applies ``torch.compiler.disable`` at the
first call made while torch._dynamo is loaded (anyone compiling has loaded it); before that it calls the
function directly.
"""

from __future__ import annotations

import functools
import sys

import torch


def eager_only(fn):
    disabled = {}

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if "torch._dynamo" not in sys.modules:  # nothing can be compiling: no dynamo to hide from
            return fn(*args, **kwargs)
        if not disabled:
            disabled[0] = torch.compiler.disable(fn)
        return disabled[0](*args, **kwargs)

    return call
