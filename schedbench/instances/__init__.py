"""Instances: the model, its canonical JSON form, the strict loader, the JSON Schema and the problem classes."""

from schedbench.instances.io import (
    content_hash,
    dumps,
    from_document,
    load,
    loads,
    make_instance,
    save,
    to_document,
)
from schedbench.instances.model import (
    SCHEMA_ID,
    GpuType,
    Instance,
    Jobs,
    Node,
    Problem,
    Resource,
)
from schedbench.instances.problems import PROBLEM_CLASSES

__all__ = [
    "PROBLEM_CLASSES",
    "SCHEMA_ID",
    "GpuType",
    "Instance",
    "Jobs",
    "Node",
    "Problem",
    "Resource",
    "content_hash",
    "dumps",
    "from_document",
    "load",
    "loads",
    "make_instance",
    "save",
    "to_document",
]
