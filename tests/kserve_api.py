"""Validate manifests against KServe's published API types, offline.

KServe's Python SDK ships OpenAPI-generated models (`kserve/models/v1beta1_*.py`), generated
from the same Go types as the InferenceService CRD: each class lists its fields with their JSON
names (`attribute_map`) and types (`openapi_types`, e.g. 'int', 'list[V1Container]',
'dict(str, str)'); the Kubernetes types they reference (V1ObjectMeta, V1ResourceRequirements...)
are the `kubernetes` package's models, described the same way (its pydantic-based generator
spells the containers 'List[...]' and 'Dict[str, ...]'). `validate` walks a manifest through
those types and reports, with its path, every unknown field (a misspelling the API server would
prune or reject), every value of the wrong type, and every required field left out.

The SDK is installed without its dependencies (requirements-nodeps.txt): its `__init__` imports
a model server (fastapi, grpc...). Only `kserve.models` is loaded, through a stand-in parent
package whose `__path__` is the installed `kserve` directory: the models need only `six` and
`kserve.configuration`.

Both rollout shapes are checked: Serverless (`spec.predictor.canaryTrafficPercent`) and,
since KServe 0.20 (kserve/kserve#5672), Standard (`spec.canary`: `V1beta1CanarySpec`, a named
predictor and `trafficPercent`, both required); the SDK 0.21.0 has both.

Known looseness: Kubernetes quantities are typed 'str' by the generator, so `cpu: 1` (a number
the API server accepts) is reported; write quantities as strings.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import sys
import types
from functools import cache
from typing import Any

KSERVE_VERSION = "0.21.0"
SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str,),
    "date": (str,),
    "bytes": (str,),
}
LIST = re.compile(r"^[lL]ist\[(.+)\]$")
DICT = re.compile(r"^(?:dict\(str, (.+)\)|Dict\[str, (.+)\])$")


@cache
def kserve_models() -> types.ModuleType:
    installed = importlib.metadata.version("kserve")
    if installed != KSERVE_VERSION:
        raise RuntimeError(f"kserve {installed} is installed, the tests pin {KSERVE_VERSION}")
    if "kserve" not in sys.modules:
        spec = importlib.util.find_spec("kserve")  # finds the package without running it
        assert spec is not None and spec.submodule_search_locations is not None
        parent = types.ModuleType("kserve")
        parent.__path__ = list(spec.submodule_search_locations)
        sys.modules["kserve"] = parent
    return importlib.import_module("kserve.models")


@cache
def model_class(name: str) -> type | None:
    """A generated class by its OpenAPI name: KServe's own, else Kubernetes'."""
    import kubernetes.client.models as k8s

    return getattr(kserve_models(), name, None) or getattr(k8s, name, None)


def validate(manifest: dict[str, Any], root: str = "V1beta1InferenceService") -> list[str]:
    """Every problem of `manifest` as an instance of `root`, as '<path>: <problem>'."""
    errors: list[str] = []
    check(manifest, root, "", errors)
    return errors


def check(value: Any, type_name: str, path: str, errors: list[str]) -> None:
    where = path or "(root)"
    if value is None:
        return  # null: the field is unset
    if type_name == "object":
        return  # free-form (int-or-string, raw extensions)
    if type_name in SCALARS:
        allowed = SCALARS[type_name]
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
            errors.append(f"{where}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    if match := LIST.match(type_name):
        if not isinstance(value, list):
            errors.append(f"{where}: expected a list of {match[1]}, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            check(item, match[1], f"{path}[{index}]", errors)
        return
    if match := DICT.match(type_name):
        values = match[1] or match[2]
        if not isinstance(value, dict):
            errors.append(f"{where}: expected a map of {values}, got {type(value).__name__}")
            return
        for key, item in value.items():
            check(item, values, f"{path}.{key}" if path else str(key), errors)
        return
    cls = model_class(type_name)
    if cls is None:
        errors.append(f"{where}: type {type_name} is not in the KServe or Kubernetes models")
        return
    if not isinstance(value, dict):
        errors.append(f"{where}: expected an object ({type_name}), got {type(value).__name__}")
        return
    fields = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key not in fields:
            errors.append(f"{child}: unknown field (not in {type_name})")
            continue
        check(item, cls.openapi_types[fields[key]], child, errors)
    errors.extend(f"{where}: required field {name} is missing" for name in missing(cls, value))


def missing(cls: type, value: dict[str, Any]) -> list[str]:
    """The required fields (JSON names) absent from `value`."""
    if hasattr(cls, "model_fields"):  # kubernetes: pydantic models
        required = [a for a, f in cls.model_fields.items() if f.is_required()]
        return [cls.attribute_map[a] for a in required if cls.attribute_map[a] not in value]
    # kserve: classic generated classes, whose setters refuse None for a required field
    names = []
    for attr, json_name in cls.attribute_map.items():
        if json_name in value:
            continue
        setter = getattr(cls, attr).fset
        probe = cls.__new__(cls)
        probe.local_vars_configuration = types.SimpleNamespace(client_side_validation=True)
        try:
            setter(probe, None)
        except ValueError:
            names.append(json_name)
    return names
