"""gort.ffi: calling C from goroutines without holding up the scheduler, and
C calling Python from any thread.

    libc = gort.ffi.CDLL(None)                      # the process itself
    usleep = libc.function("usleep", "int", ["uint32"])
    usleep(50000)    # a cgocall: the GIL is released and the P handed off

    Point = gort.ffi.Struct([("x", "double"), ("y", "double")])
    p = Point(1.0, 2.0); p.x += 1

    cmp = gort.ffi.callback(lambda a, b: ..., "int", ["pointer", "pointer"])
    qsort(buf, n, size, cmp)     # a callback object passes as a pointer

Type names: void bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 int
uint long ulong size_t ssize_t float double pointer, and Struct classes
(by value; fields may be structs). Integers narrower than int and float are
not what variadic arguments take: declare them int/double
(C's promotions; function(..., nfixed=N) makes a variadic signature).

A call works from a goroutine, the main thread and any thread; with the GIL
released while C runs. From a goroutine it is a blocking region
(gort_blocking_begin/end): the P can be handed off while C runs, and C runs
on the goroutine's own stack, as a ctypes call there does (at least 1 MiB:
gort.init(stack_size=...) for C that needs more; an overflow is reported as
one). Elsewhere C runs on the calling thread's stack. `pointer` accepts an int, None, bytes, any writable
or read-only buffer (bytearray, array, memoryview, numpy; kept alive for the
call), ctypes objects (their address; a ctypes pointer's value) and
gort.ffi callbacks. A callback's function runs as goroutine code with the
GIL held, on whatever thread C calls it from; an exception in it is
reported (sys.unraisablehook) and the call returns `error` (default: zero).
Its address stays valid while the object lives or until .release(); a call
after that is reported by the runtime and returns zero, never a crash.
"""
import ctypes
import struct as _struct

from . import _gort

__all__ = ["CDLL", "Struct", "callback", "Function", "Callback", "types"]

Function = _gort._FfiFunction
Callback = _gort._FfiCallback

_CODES = _gort._FFI_CODES
# name: (code name, kind, size, alignment, struct format)
_SCALARS = {
    "void": ("void", "v", 0, 1, ""),
    "bool": ("bool", "b", 1, 1, "?"),
    "int8": ("int8", "i", 1, 1, "b"),
    "uint8": ("uint8", "u", 1, 1, "B"),
    "int16": ("int16", "i", 2, 2, "h"),
    "uint16": ("uint16", "u", 2, 2, "H"),
    "int32": ("int32", "i", 4, 4, "i"),
    "uint32": ("uint32", "u", 4, 4, "I"),
    "int64": ("int64", "i", 8, 8, "q"),
    "uint64": ("uint64", "u", 8, 8, "Q"),
    "float": ("float", "f", 4, 4, "f"),
    "double": ("double", "d", 8, 8, "d"),
    "pointer": ("pointer", "p", 8, 8, "Q"),
    "size_t": ("size_t", "u", 8, 8, "Q"),
    "ssize_t": ("ssize_t", "i", 8, 8, "q"),
}
_SCALARS["int"] = _SCALARS["int32"]
_SCALARS["uint"] = _SCALARS["uint32"]
_LONG = 8 * ctypes.sizeof(ctypes.c_long)
_SCALARS["long"] = _SCALARS[f"int{_LONG}"]
_SCALARS["ulong"] = _SCALARS[f"uint{_LONG}"]
types = tuple(sorted(_SCALARS))


def _info(t, what, allow_void=False):
    """(code, kind, size, align, fmt, struct class or None) of a type name or
    Struct class; TypeError/ValueError naming `what`."""
    if isinstance(t, type) and issubclass(t, _StructBase) and t is not _StructBase:
        return (t._code_, "s", t._size_, t._align_, None, t)
    if not isinstance(t, str):
        raise TypeError(f"{what}: a type name or a gort.ffi.Struct class is required, "
                        f"not {type(t).__name__}")
    try:
        code, kind, size, align, fmt = _SCALARS[t]
    except KeyError:
        raise ValueError(f"{what}: unknown type {t!r} (known: {', '.join(types)})") from None
    if kind == "v" and not allow_void:
        raise ValueError(f"{what}: void is only a return type")
    return (_CODES[code], kind, size, align, fmt, None)


def _desc(t, what, allow_void=False):
    code, kind, size, _, _, cls = _info(t, what, allow_void)
    return (code, kind, size, cls)


# ---- structs ---------------------------------------------------------------------------


class _StructBase:
    """Base of the classes gort.ffi.Struct makes. An instance owns (or, for a
    nested field, views) _size_ bytes laid out as the C compiler lays out
    the struct."""

    __slots__ = ("_buf",)
    _fields_ = ()
    _size_ = 0
    _align_ = 1
    _code_ = 0

    def __init__(self, *args, **kw):
        self._buf = bytearray(self._size_)
        names = [f[0] for f in self._fields_]
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes at most {len(names)} values")
        for name, value in zip(names, args):
            setattr(self, name, value)
        for name, value in kw.items():
            if name not in names:
                raise TypeError(f"{type(self).__name__}() has no field {name!r}")
            setattr(self, name, value)

    @classmethod
    def _from_bytes(cls, data):
        o = cls.__new__(cls)
        o._buf = bytearray(data)
        return o

    @classmethod
    def _view(cls, buf):
        o = cls.__new__(cls)
        o._buf = buf
        return o

    def __bytes__(self):
        return bytes(self._buf)

    def _asdict(self):
        return {f[0]: getattr(self, f[0]) for f in self._fields_}

    def __eq__(self, other):
        return type(other) is type(self) and bytes(self._buf) == bytes(other._buf)

    def __repr__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items())
        return f"{type(self).__name__}({inner})"


def _field_property(name, offset, fmt, cls):
    if cls is not None:
        def get(self):
            return cls._view(memoryview(self._buf)[offset:offset + cls._size_])

        def set_(self, value):
            if not isinstance(value, cls):
                raise TypeError(f"field {name!r}: a {cls.__name__} is required")
            memoryview(self._buf)[offset:offset + cls._size_] = bytes(value._buf)
    else:
        code = "=" + fmt

        def get(self):
            return _struct.unpack_from(code, self._buf, offset)[0]

        def set_(self, value):
            try:
                _struct.pack_into(code, self._buf, offset, value)
            except _struct.error as e:
                raise ValueError(f"field {name!r}: {e}") from None
    return property(get, set_, doc=f"field {name!r} at offset {offset}")


def Struct(fields, name="Struct"):
    """A struct type by value: Struct([("x", "double"), ("n", "int"), ...]).
    Fields are type names or other Struct classes; the layout is the
    platform's C layout (alignment and padding), as libffi's."""
    fields = list(fields)
    if not fields:
        raise ValueError("gort.ffi.Struct: at least one field is required")
    offset, align, codes, props = 0, 1, [], {}
    for i, f in enumerate(fields):
        if not (isinstance(f, tuple) and len(f) == 2 and isinstance(f[0], str)):
            raise TypeError(f"gort.ffi.Struct: field {i} must be (name, type)")
        fname, ftype = f
        if fname in props or fname.startswith("_"):
            raise ValueError(f"gort.ffi.Struct: bad or repeated field name {fname!r}")
        code, _, size, falign, fmt, cls = _info(ftype, f"field {fname!r}")
        offset = (offset + falign - 1) // falign * falign
        props[fname] = _field_property(fname, offset, fmt, cls)
        codes.append(code)
        offset += size
        align = max(align, falign)
    size = (offset + align - 1) // align * align
    ns = dict(props, __slots__=(), _fields_=tuple(fields), _size_=size, _align_=align,
              _code_=_gort._ffi_struct_make(codes))
    return type(name, (_StructBase,), ns)


# ---- libraries and callbacks -----------------------------------------------------------


class CDLL:
    """A C library (dlopen); None is the process itself."""

    def __init__(self, path):
        self._path = path
        self._lib = ctypes.CDLL(path)  # OSError naming the library

    def function(self, name, restype, argtypes, nfixed=None):
        """A callable for C function `name`; nfixed=N: variadic, N fixed
        arguments (one signature per call shape)."""
        try:
            addr = ctypes.cast(getattr(self._lib, name), ctypes.c_void_p).value
        except AttributeError:
            raise AttributeError(f"{self._path or 'the process'}: no symbol {name!r}") from None
        argtypes = list(argtypes)
        if len(argtypes) > _gort._FFI_MAX_ARGS:
            raise ValueError(f"{name}: at most {_gort._FFI_MAX_ARGS} arguments")
        if nfixed is not None and not 1 <= nfixed <= len(argtypes):
            raise ValueError(f"{name}: nfixed must be in 1..{len(argtypes)}")
        r = _desc(restype, f"{name}: restype", allow_void=True)
        a = tuple(_desc(t, f"{name}: argument {i + 1}") for i, t in enumerate(argtypes))
        return _gort._FfiFunction(addr, r, a, -1 if nfixed is None else nfixed, name, self)

    def __repr__(self):
        return f"<gort.ffi.CDLL {self._path!r}>"


def callback(fn, restype, argtypes, error=None):
    """A C function pointer (.address) calling fn(*args) from any thread."""
    if not callable(fn):
        raise TypeError("gort.ffi.callback: fn must be callable")
    r = _desc(restype, "callback: restype", allow_void=True)
    a = tuple(_desc(t, f"callback: argument {i + 1}") for i, t in enumerate(argtypes))
    return _gort._FfiCallback(fn, r, a, error)
