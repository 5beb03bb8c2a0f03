"""Safe reading and atomic writing of files that hold pickles (checkpoints, annotation files).

Nothing read here can run code: checkpoints go through ``torch.load(weights_only=True)``, and
annotation pickles through :class:`RestrictedUnpickler`, which admits numpy arrays and plain
Python containers only. Writes go to a temporary file in the same folder, are fsync'ed and then
renamed over the target, so a crash mid-write leaves the previous file intact.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

__all__ = [
    "UnsafeFileError",
    "CorruptFileError",
    "RestrictedUnpickler",
    "safe_pickle_load",
    "safe_torch_load",
    "atomic_write",
    "atomic_torch_save",
    "atomic_pickle_dump",
]


class UnsafeFileError(pickle.UnpicklingError):
    """A file asked to import something that could run code; nothing from it was executed."""


class CorruptFileError(ValueError):
    """A file is truncated, corrupt, or not of the expected kind."""


# numpy globals that rebuild arrays, scalars and dtypes -- data, never code.
_NUMPY_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # protocol-2 pickles store bytes through _codecs.encode
}
# plain containers that some writers pickle by reference
_BUILTINS_ALLOWED = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that loads numpy arrays and plain Python containers, and refuses everything else."""

    def __init__(self, file: BinaryIO, source: str = "<pickle>") -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_ALLOWED or (module, name) in _BUILTINS_ALLOWED:
            return super().find_class(module, name)
        if module in ("numpy", "numpy.dtypes") and name.endswith("DType"):
            return super().find_class(module, name)
        raise UnsafeFileError(
            f"{self.source}: refused to load: the pickle references '{module}.{name}', which is not "
            "plain data (only numpy arrays and Python containers are allowed); nothing was executed"
        )


def safe_pickle_load(path: str | os.PathLike) -> Any:
    """Load a pickle through :class:`RestrictedUnpickler`, naming the file in every error."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CorruptFileError(f"{path}: cannot read file: {e}") from e
    if not data:
        raise CorruptFileError(f"{path}: the file is empty")
    try:
        return RestrictedUnpickler(io.BytesIO(data), str(path)).load()
    except UnsafeFileError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, UnicodeDecodeError) as e:
        raise CorruptFileError(f"{path}: not a readable pickle (truncated or corrupt?): {type(e).__name__}: {e}") from e


def _numpy_safe_globals() -> list:
    """numpy array/scalar/dtype rebuilders, under both numpy 1.x and 2.x module names."""
    import numpy as np

    try:
        from numpy._core import multiarray as ma
    except ImportError:  # numpy < 2
        from numpy.core import multiarray as ma
    allowed: list = [np.ndarray, np.dtype]
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed += [(ma._reconstruct, f"{mod}._reconstruct"), (ma.scalar, f"{mod}.scalar")]
    allowed += [type(np.dtype(t)) for t in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")]
    return allowed


def safe_torch_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` with errors that name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CorruptFileError(f"{path}: the file is empty")
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        found = re.search(r"GLOBAL ([\w.]+)", msg)
        if found or "Unsupported" in msg:
            what = f"'{found.group(1)}'" if found else "a Python object"
            raise UnsafeFileError(
                f"{path}: refused to load: the file references {what}, which is not plain data "
                "(only tensors, containers and numbers are allowed); nothing from it was executed"
            ) from e
        raise CorruptFileError(f"{path}: not a readable checkpoint (truncated or corrupt?): {msg.splitlines()[0]}") from e
    except (RuntimeError, EOFError, ValueError, OSError, KeyError, AttributeError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise CorruptFileError(f"{path}: not a readable checkpoint (truncated or corrupt?): {first}") from e


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it, and rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        try:  # make the rename itself durable
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` through :func:`atomic_write`."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def atomic_pickle_dump(obj: Any, path: str | os.PathLike, protocol: int = 4) -> Path:
    """``pickle.dump`` through :func:`atomic_write`."""
    return atomic_write(path, lambda f: pickle.dump(obj, f, protocol=protocol))
