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
import tokenize
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

__all__ = [
    "InputError",
    "UnsafeFileError",
    "CorruptFileError",
    "RestrictedUnpickler",
    "safe_pickle_load",
    "safe_torch_load",
    "safe_npy_load",
    "describe_file",
    "atomic_write",
    "atomic_torch_save",
    "atomic_pickle_dump",
]


class InputError(ValueError):
    """Bad input (a file, a record, an option): the base of every error the package raises for it.

    The message names the file, sample or option and what is wrong; the command line prints it as
    one line and exits with status 2. Every reader's own error type derives from it.
    """


class UnsafeFileError(InputError, pickle.UnpicklingError):
    """A file asked to import something that could run code; nothing from it was executed."""


class CorruptFileError(InputError):
    """A file is truncated, corrupt, or not of the expected kind."""


# (leading bytes, what the file is) for the kinds a user most often passes by mistake
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"PK\x03\x04", "a zip archive"),
)


def describe_file(path: str | os.PathLike) -> str:
    """What a file looks like from its first bytes: 'a PNG image', 'a Python pickle', 'a text file', ..."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as e:
        return f"an unreadable file ({e.strerror or e})"
    if not head:
        return "an empty file"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "a Python pickle"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not merely a character cut at the end of the sample
            return "a binary file of unknown kind"
        text = head[: e.start].decode("utf-8")
    if "\x00" in text:
        return "a binary file of unknown kind"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "a JSON text file"
    return "a text file"


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
    if path.is_dir():
        raise CorruptFileError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CorruptFileError(f"{path}: the file is empty")
    kind = describe_file(path)
    if kind not in ("a zip archive", "a Python pickle"):  # torch writes zip files (legacy: a pickle)
        raise CorruptFileError(f"{path}: not a checkpoint: the file is {kind}")
    if kind == "a Python pickle" and not _is_torch_legacy(path):
        obj = safe_pickle_load(path)  # refuses code references with UnsafeFileError, runs nothing
        raise CorruptFileError(f"{path}: not a checkpoint: the file is a plain Python pickle holding {_what_object(obj)}, not one written by torch.save")
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
    except (RuntimeError, EOFError, ValueError, OSError, KeyError, AttributeError, IndexError, TypeError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        if kind == "a zip archive" and not _is_torch_zip(path):
            raise CorruptFileError(f"{path}: not a checkpoint: the file is a zip archive without torch.save's data.pkl") from e
        raise CorruptFileError(f"{path}: not a readable checkpoint (truncated or corrupt?): {first}") from e


def _what_object(obj: Any) -> str:
    """A short description of an unpickled object, for messages (e.g. an annotation file's dict)."""
    if isinstance(obj, dict):
        keys = ", ".join(map(str, list(obj)[:6]))
        hint = " (an annotation file)" if "annotations" in obj else ""
        return f"a dict with keys {keys}{hint}"
    if isinstance(obj, (list, tuple)):
        return f"a {type(obj).__name__} of {len(obj)} item(s)"
    return f"a {type(obj).__name__}"


def _is_torch_zip(path: Path) -> bool:
    """Whether a zip archive has the ``<name>/data.pkl`` member that torch.save writes."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/data.pkl") or n == "data.pkl" for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return True  # a damaged torch file: let the caller say 'truncated or corrupt'


def _is_torch_legacy(path: Path) -> bool:
    """Whether a pickle starts as torch's legacy (pre-1.6) format does: the magic number as a long."""
    with open(path, "rb") as f:
        head = f.read(16)
    return head[2:3] == b"\x8a"  # PROTO n, then LONG1 holding 0x1950a86a20f9469cfc6c


def safe_npy_load(path: str | os.PathLike, mmap_mode: str | None = None) -> Any:
    """``np.load(allow_pickle=False)`` of a ``.npy`` file, with errors that name the file.

    A file that holds Python objects is refused (loading them would run pickle); the message says
    what to save instead, never to switch pickling on.
    """
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    kind = describe_file(path)
    if kind != "a NumPy .npy array":
        raise CorruptFileError(f"{path}: not a .npy array: the file is {kind}")
    try:
        data = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise CorruptFileError(
                f"{path}: holds Python objects (an object array), which are not loaded because unpickling can "
                "run code; save a plain numeric array instead (e.g. np.save(path, x.astype(np.float32)))"
            ) from None
        raise CorruptFileError(f"{path}: not a readable .npy array (truncated or corrupt?): {e}") from None
    except (OSError, EOFError, SyntaxError, TypeError, KeyError, IndexError, tokenize.TokenError) as e:  # a garbled header
        raise CorruptFileError(f"{path}: not a readable .npy array (truncated or corrupt?): {type(e).__name__}: {e}") from None
    return data


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
