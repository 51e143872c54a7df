"""Objects' state as data only: JSON text plus numeric numpy arrays, never code.

:func:`encode` turns an object graph into JSON text (written directly, no
tree of dicts beside it) and a list of numeric arrays; :func:`decode` turns
them back. The schema is closed:

============================  =====================================================================
value                         encoded as
============================  =====================================================================
None, bool, int, float, str   itself (floats ``nan``/``inf`` as ``{"$": "f", "v": "nan"}``)
bytes                         ``{"$": "bytes", "v": <hex>}``
tuple, list, set, frozenset   ``{"$": "tuple" | "list" | "set" | "frozenset", "v": [...]}``
dict, Counter, defaultdict    ``{"$": "dict" | "counter" | "defaultdict", "v": [[key, value], ...]}``
                              (a defaultdict's factory only ``list``, ``set``, ``dict``, ``int``, ``float``)
deque                         ``{"$": "deque", "maxlen": n, "v": [...]}``
array.array                   ``{"$": "array", "t": <typecode>, "v": [...]}``
numpy array (numeric, bool)   ``{"$": "nd", "i": <index into the arrays>}``
numpy scalar                  ``{"$": "np", "t": <dtype>, "v": <number>}``
Enum of this package          ``{"$": "enum", "c": <module:qualname>, "v": <value>}``
object of this package        ``{"$": "obj", "c": <module:qualname>, "v": {attribute: value}}``
a live object given by name   ``{"$": "live", "v": <name>}`` (resolved to the reading process's object)
lock, RLock, Event, Condition ``{"$": "sync", "k": <kind>}`` (the live one kept, else a new one of that kind)
============================  =====================================================================

Mutable containers and objects carry an id (``"i"``) and are written once;
later occurrences are ``{"$": "ref", "i": id}``, so shared objects stay
shared and cycles close. An object's attributes that hold code (functions,
methods) or threads, or that are named in ``skip``, are not written; a lock or
an event is written as its kind only, so an object created while reading gets
a new one: when the reader restores into a live object (:func:`restore_parts`)
those attributes keep the live values. Reading only ever creates objects of
classes defined in ``heritage_otel`` modules (with ``object.__new__``: no
constructor, no ``__setstate__`` runs) and the builtin types above; anything
else is refused with :class:`StateError`.

>>> from heritage_otel.analysis.samples import SeriesKey
>>> text, arrays = encode({"k": SeriesKey.of("m", {"a": 1})})
>>> decode(text, arrays)["k"] == SeriesKey.of("m", {"a": 1})
True
>>> decode('{"$": "obj", "i": 0, "c": "os:system", "v": {}}', [])
Traceback (most recent call last):
...
heritage_otel.service.statefile.StateError: class os:system is not one of this package's; refused
"""

from __future__ import annotations

import array
import enum
import importlib
import math
import threading
import json
import types
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

__all__ = ["StateError", "decode", "encode", "encode_parts", "restore_parts"]

_PACKAGE: Final = "heritage_otel."
_dumps: Final = json.JSONEncoder(ensure_ascii=True).encode
_FACTORIES: Final[dict[str, Callable[[], Any]]] = {"list": list, "set": set, "dict": dict, "int": int,
                                                   "float": float}
_CODE: Final = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.BuiltinMethodType,
                types.LambdaType, threading.Thread)
#: Synchronisation objects: written as their kind only, read back as the live one or a new one of that kind (an
#: object created while reading, e.g. an alert policy the new process had not made yet, still gets its lock).
_SYNC: Final[dict[str, Callable[[], Any]]] = {"Lock": threading.Lock, "RLock": threading.RLock,
                                               "Event": threading.Event, "Condition": threading.Condition}
_SYNC_TYPES: Final = ((type(threading.Lock()), "Lock"), (type(threading.RLock()), "RLock"),
                      (threading.Event, "Event"), (threading.Condition, "Condition"))


_PLAIN: Final = frozenset({str, int, bool, float, type(None)})
_PLAIN_TEXT: Final = frozenset({str, int, bool, type(None)})


class StateError(ValueError):
    """A state that cannot be written as data, or a file whose content is outside the schema."""


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _is_code(value: Any) -> bool:
    return isinstance(value, _CODE) or (callable(value) and isinstance(value, type))


def _text(value: Any) -> str:
    """JSON text of a plain value (str, int, bool, None, float)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is float:
        return repr(value) if math.isfinite(value) else f'{{"$":"f","v":"{value!r}"}}'
    if isinstance(value, str):
        return _dumps(value)
    return str(int(value))


def _sync_kind(value: Any) -> str | None:
    """``Lock``, ``RLock``, ``Event`` or ``Condition`` for such an object, else None."""
    return next((kind for sync_type, kind in _SYNC_TYPES if isinstance(value, sync_type)), None)


def _node(tag: str, items: str | None = None, **fields: Any) -> str:
    """One tagged node as JSON text; ``items`` is the already-encoded text of its ``v``."""
    head = "".join(f',"{k}":{_dumps(v)}' for k, v in fields.items())
    return f'{{"$":"{tag}"{head}}}' if items is None else f'{{"$":"{tag}"{head},"v":{items}}}'


class _Encoder:
    """Writes JSON text directly (no tree of dicts beside the state: a checkpoint's memory is its text)."""

    def __init__(self, live: Mapping[int, str], skip: frozenset[str]) -> None:
        self.live, self.skip = live, skip
        self.arrays: list[np.ndarray] = []
        self._ids: dict[int, int] = {}
        self._keep: list[Any] = []  # objects encoded: their ids must not be reused while encoding

    def _memo(self, obj: Any) -> tuple[str | None, int]:
        known = self._ids.get(id(obj))
        if known is not None:
            return _node("ref", i=known), known
        n = self._ids[id(obj)] = len(self._ids)
        self._keep.append(obj)
        return None, n

    def _list(self, values: Any) -> str:
        return "[" + ",".join(self.encode(v) for v in values) + "]"

    def encode(self, obj: Any) -> str:  # noqa: PLR0911, C901 - one branch per type of the schema
        t = type(obj)
        if t in _PLAIN:
            return _text(obj)
        if t is tuple and all(type(v) in _PLAIN_TEXT for v in obj):  # the common case, fast: keys and labels
            return _node("tuple", "[" + ",".join(map(_text, obj)) + "]")
        if isinstance(obj, (bool, str)) or (isinstance(obj, (int, float)) and not isinstance(obj, enum.Enum)
                                            and not isinstance(obj, np.generic)):
            return _text(obj if isinstance(obj, (bool, str)) else (int(obj) if isinstance(obj, int) else float(obj)))
        if id(obj) in self.live:
            return _node("live", _dumps(self.live[id(obj)]))
        if isinstance(obj, bytes):
            return _node("bytes", _dumps(obj.hex()))
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in "biuf":
                raise StateError(f"a numpy {obj.dtype} scalar is not data this format holds")
            return _node("np", self.encode(obj.item()), t=obj.dtype.str)
        if isinstance(obj, enum.Enum):
            return _node("enum", self.encode(obj.value), c=self._allowed(type(obj)))
        if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            return _node("tuple", self._list(obj))
        kind = _sync_kind(obj)
        if kind is not None:
            return _node("sync", k=kind)
        ref, n = self._memo(obj)
        if ref is not None:
            return ref
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise StateError(f"a numpy array of {obj.dtype} is not data this format holds")
            self.arrays.append(obj.copy())
            return _node("nd", i=n, a=len(self.arrays) - 1)
        if isinstance(obj, array.array):
            return _node("array", _dumps(obj.tolist()), i=n, t=obj.typecode)
        if isinstance(obj, deque):
            return _node("deque", self._list(obj), i=n, maxlen=obj.maxlen)
        if isinstance(obj, (list, set, frozenset)):
            return _node(type(obj).__name__, self._list(obj), i=n)
        if isinstance(obj, dict):
            pairs = "[" + ",".join(f"[{self.encode(k)},{self.encode(v)}]" for k, v in obj.items()) + "]"
            if isinstance(obj, Counter):
                return _node("counter", pairs, i=n)
            if isinstance(obj, defaultdict):
                factory = getattr(obj.default_factory, "__name__", None)
                if factory not in _FACTORIES or _FACTORIES[factory] is not obj.default_factory:
                    raise StateError(f"a defaultdict of {obj.default_factory!r} is not data this format holds")
                return _node("defaultdict", pairs, i=n, f=factory)
            if type(obj) is not dict:
                raise StateError(f"a {type(obj).__name__} is not data this format holds")
            return _node("dict", pairs, i=n)
        if _is_code(obj):
            raise StateError(f"{obj!r} is code, not data")
        return _node("obj", self.attributes(obj), i=n, c=self._allowed(type(obj)))

    def encode_object(self, obj: Any) -> str:
        """An object of this package by its attributes (also when it is one of the live objects)."""
        ref, n = self._memo(obj)
        if ref is not None:
            return ref
        return _node("obj", self.attributes(obj), i=n, c=self._allowed(type(obj)))

    def attributes(self, obj: Any) -> str:
        """An object's attributes as data (code, locks, threads and ``skip`` names left out), as JSON text."""
        values = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                values[slot] = getattr(obj, slot)
        return "{" + ",".join(f"{_dumps(k)}:{self.encode(v)}" for k, v in values.items()
                              if k not in self.skip and not _is_code(v)) + "}"

    @staticmethod
    def _allowed(cls: type) -> str:
        if not cls.__module__.startswith(_PACKAGE):
            raise StateError(f"a {_class_name(cls)} is not one of this package's classes")
        return _class_name(cls)


def encode(obj: Any, *, live: Mapping[int, str] | None = None,
           skip: frozenset[str] = frozenset()) -> tuple[str, list[np.ndarray]]:
    """``(JSON text, arrays)`` for ``obj``; ``live`` maps ``id(o)`` to a name for objects written by name only."""
    encoder = _Encoder(live or {}, skip)
    return encoder.encode(obj), encoder.arrays


def _resolve(name: Any) -> type:
    if not isinstance(name, str) or ":" not in name or not name.startswith(_PACKAGE):
        raise StateError(f"class {name} is not one of this package's; refused")
    module_name, _, qualname = name.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise StateError(f"class {name} does not exist in this version") from exc
    if not isinstance(target, type) or issubclass(target, BaseException):
        raise StateError(f"{name} is not a class of state; refused")
    return target


class _Decoder:
    def __init__(self, arrays: list[np.ndarray], live: Mapping[str, Any]) -> None:
        self.arrays, self.live = arrays, live
        self._objects: dict[int, Any] = {}

    def decode(self, node: Any, hint: Any = None) -> Any:  # noqa: PLR0911, C901 - one branch per type
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list) or not isinstance(node, dict) or not isinstance(node.get("$"), str):
            raise StateError("a value outside the schema")
        tag = node["$"]
        if tag == "f":
            return float(node["v"]) if node["v"] in ("nan", "inf", "-inf") else _bad(node)
        if tag == "bytes":
            return bytes.fromhex(node["v"])
        if tag == "np":
            return np.dtype(node["t"]).type(self.decode(node["v"])) if np.dtype(node["t"]).kind in "biuf" \
                else _bad(node)
        if tag == "enum":
            cls = _resolve(node["c"])
            return cls(self.decode(node["v"])) if issubclass(cls, enum.Enum) else _bad(node)
        if tag == "tuple":
            return tuple(self.decode(v) for v in self._items(node))
        if tag == "sync":
            kind = node.get("k")
            if kind not in _SYNC:
                return _bad(node)
            return hint if _sync_kind(hint) == kind else _SYNC[kind]()
        if tag == "live":
            if node["v"] not in self.live:
                raise StateError(f"no live object named {node['v']!r}")
            return self.live[node["v"]]
        if tag == "ref":
            if node.get("i") not in self._objects:
                raise StateError("a reference to an object not read before")
            return self._objects[node["i"]]
        n = node.get("i")
        if not isinstance(n, int) or n in self._objects:
            raise StateError("an object without a fresh id")
        if tag == "nd":
            arr = self.arrays[int(node["a"])]
            self._objects[n] = arr
            return arr
        if tag == "array":
            out: Any = array.array(str(node["t"]), [self.decode(v) for v in self._items(node)])
            self._objects[n] = out
            return out
        if tag in ("list", "set", "frozenset", "deque"):
            return self._container(n, tag, node)
        if tag in ("dict", "counter", "defaultdict"):
            container: dict[Any, Any] = {"dict": dict, "counter": Counter}.get(tag, dict)() if tag != "defaultdict" \
                else defaultdict(_FACTORIES[node["f"]])
            self._objects[n] = container
            for pair in self._items(node):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise StateError("a dict entry that is not a [key, value] pair")
                container[self.decode(pair[0])] = self.decode(pair[1])
            return container
        if tag == "obj":
            cls = _resolve(node["c"])
            obj = hint if type(hint) is cls else object.__new__(cls)
            self._objects[n] = obj
            attributes = node.get("v")
            if not isinstance(attributes, dict):
                raise StateError("an object without attributes")
            for name, value in attributes.items():
                object.__setattr__(obj, name, self.decode(value, getattr(obj, name, None)))
            return obj
        raise StateError(f"unknown type {tag!r}")

    def _container(self, n: int, tag: str, node: dict[str, Any]) -> Any:
        if tag in ("list", "deque"):
            out: Any = [] if tag == "list" else deque(maxlen=node.get("maxlen"))
            self._objects[n] = out
            out.extend(self.decode(v) for v in self._items(node))
            return out
        values = [self.decode(v) for v in self._items(node)]
        out = set(values) if tag == "set" else frozenset(values)
        self._objects[n] = out
        return out

    @staticmethod
    def _items(node: dict[str, Any]) -> list[Any]:
        items = node.get("v")
        if not isinstance(items, list):
            raise StateError("a container without a list of items")
        return items


def _bad(node: Any) -> Any:
    raise StateError(f"a value outside the schema ({str(node)[:80]})")


def decode(text: str | bytes, arrays: list[np.ndarray], *, live: Mapping[str, Any] | None = None) -> Any:
    """The object graph of :func:`encode`'s text (live names resolved through ``live``)."""
    try:
        return _Decoder(arrays, live or {}).decode(json.loads(text))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        if isinstance(exc, StateError):
            raise
        raise StateError(f"a value outside the schema ({type(exc).__name__}: {exc})") from exc


def encode_parts(parts: Mapping[str, Any], extra: Any = None, *, live: Mapping[int, str] | None = None,
                 skip: frozenset[str] = frozenset()) -> tuple[str, list[np.ndarray]]:
    """``(JSON text, arrays)`` of several named objects (one memo: objects they share stay shared) and ``extra``."""
    encoder = _Encoder(live or {}, skip)
    named = ",".join(f"{_dumps(name)}:{encoder.encode_object(obj)}" for name, obj in parts.items())
    return '{"parts":{' + named + '},"extra":' + encoder.encode(extra) + "}", encoder.arrays


def restore_parts(parts: Mapping[str, Any], text: str | bytes, arrays: list[np.ndarray], *,
                  live: Mapping[str, Any] | None = None) -> Any:
    """Restore each live object of ``parts`` in place from :func:`encode_parts`' text; returns its ``extra``.

    Attributes the text does not hold (code, locks, skipped names) keep their live values, and nested live
    objects of the same class are updated in place rather than replaced. Raises :class:`StateError` (before
    any part is touched when the text names other parts or classes than these).
    """
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise StateError(f"not JSON ({type(exc).__name__})") from exc
    if not isinstance(tree, dict) or not isinstance(tree.get("parts"), dict):
        raise StateError("no parts in the state")
    found = tree["parts"]
    if set(found) != set(parts):
        raise StateError(f"it holds the parts {sorted(found)}, this service has {sorted(parts)}")
    for name, obj in parts.items():
        node = found[name]
        if not isinstance(node, dict) or node.get("$") != "obj" or node.get("c") != _class_name(type(obj)):
            raise StateError(f"part {name} is not a {_class_name(type(obj))}")
    try:
        dry = _Decoder(arrays, live or {})  # read it all once into new objects: a bad file touches nothing live
        for name in parts:
            dry.decode(found[name])
        dry.decode(tree.get("extra"))
        decoder = _Decoder(arrays, live or {})
        for name, obj in parts.items():
            decoder.decode(found[name], obj)
        return decoder.decode(tree.get("extra"))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        if isinstance(exc, StateError):
            raise
        raise StateError(f"a value outside the schema ({type(exc).__name__}: {exc})") from exc
