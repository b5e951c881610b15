"""JSON Schemas (draft 2020-12) of the instance and solution formats.

``schedbench schema instance|solution`` prints them. The strict loader in
:mod:`schedbench.instances.io` checks everything these schemas say and more (array lengths
against the number of jobs, null exactly where a job is not eligible, references between ids);
the tests check that every canonical instance validates against the schema.
"""

from __future__ import annotations

from typing import Any

from schedbench.instances.model import SCHEMA_ID
from schedbench.instances.problems import PER_TYPE_FIELDS, PROBLEM_CLASSES

_NONEMPTY = {"type": "string", "minLength": 1}
_NUM_OR_NULL = {"type": ["number", "null"]}


def _column(items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "items": items, "description": description}


def _problem_schema() -> dict[str, Any]:
    variants = [cls.problem_schema() for cls in PROBLEM_CLASSES.values()]
    return {
        "type": "object",
        "required": ["class", "objective"],
        "properties": {"class": {"enum": list(PROBLEM_CLASSES)}, "objective": _NONEMPTY, "params": {"type": "object"}},
        "additionalProperties": False,
        "oneOf": variants,
    }


def instance_schema() -> dict[str, Any]:
    """The JSON Schema of ``schedbench/instance/1`` files."""
    per_type_props: dict[str, Any] = {
        "eligible": _column({"type": "boolean"}, "the job can run on this GPU type"),
        "demand": {
            "type": "object",
            "description": "per resource id: the job's demand on each of its GPUs (null where not eligible)",
            "additionalProperties": _column({"type": ["number", "null"], "minimum": 0}, "demand per job"),
        },
        "time": _column(
            {"type": ["number", "null"], "exclusiveMinimum": 0},
            "processing time in seconds on this type (whole job, gang included)",
        ),
        "cost": _column(_NUM_OR_NULL, "cost of running the job on this type"),
        "throughput": _column(
            {"type": ["number", "null"], "exclusiveMinimum": 0}, "work rate on this type, e.g. iterations per second"
        ),
    }
    assert set(per_type_props) == {"eligible", "demand", *PER_TYPE_FIELDS}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schedbench.dev/schema/instance/1",
        "title": "schedbench instance",
        "description": "A GPU-cluster scheduling instance. Jobs are stored column-wise: every array under "
        "'jobs' has one entry per job, in the order of 'jobs.id'.",
        "type": "object",
        "required": ["schema", "metadata", "problem", "resources", "gpu_types", "cluster", "jobs"],
        "additionalProperties": False,
        "properties": {
            "schema": {"const": SCHEMA_ID},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": _NONEMPTY,
                    "description": {"type": "string"},
                    "source": {"description": "provenance: citation, file, url, index"},
                    "generator": {
                        "type": "object",
                        "required": ["name", "version"],
                        "additionalProperties": False,
                        "properties": {
                            "name": _NONEMPTY,
                            "version": _NONEMPTY,
                            "params": {"type": "object"},
                            "seed": {"type": "integer", "minimum": 0},
                        },
                    },
                    "known": {
                        "type": "object",
                        "description": "published values for this instance",
                        "additionalProperties": False,
                        "properties": {
                            "optimum": _NUM_OR_NULL,
                            "best_known": _NUM_OR_NULL,
                            "lower_bound": _NUM_OR_NULL,
                            "upper_bound": _NUM_OR_NULL,
                            "source": {"type": "string"},
                        },
                    },
                    "notes": {"type": "array", "items": {"type": "string"}},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "stats": {
                        "type": "object",
                        "description": "figures the generator computed about the "
                        "instance (offered load, GPU-time by job size, figures by provenance); "
                        "see docs/generators.md",
                    },
                },
            },
            "problem": _problem_schema(),
            "resources": {
                "type": "array",
                "minItems": 1,
                "description": "resource dimensions; 'compute' 1.0 is a whole GPU's compute",
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "additionalProperties": False,
                    "properties": {"id": _NONEMPTY, "unit": {"type": "string"}, "description": {"type": "string"}},
                },
            },
            "gpu_types": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["id", "capacity"],
                    "additionalProperties": False,
                    "properties": {
                        "id": _NONEMPTY,
                        "capacity": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
                        "cost_per_hour": {"type": ["number", "null"], "minimum": 0},
                        "peak_tflops": {"type": ["number", "null"], "minimum": 0},
                        "description": {"type": "string"},
                    },
                },
            },
            "cluster": {
                "type": "object",
                "required": ["nodes"],
                "additionalProperties": False,
                "properties": {
                    "description": {"type": "string"},
                    "nodes": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["id", "gpu_type", "gpus"],
                            "additionalProperties": False,
                            "properties": {
                                "id": _NONEMPTY,
                                "gpu_type": _NONEMPTY,
                                "gpus": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": _NONEMPTY,
                                    "description": "stable GPU ids, unique in the cluster",
                                },
                            },
                        },
                    },
                },
            },
            "jobs": {
                "type": "object",
                "required": ["id", "gang", "release", "weight", "per_type"],
                "additionalProperties": False,
                "properties": {
                    "id": _column(_NONEMPTY, "unique job ids"),
                    "job_type": _column({"type": ["string", "null"]}, "catalogue key of each job"),
                    "gang": _column({"type": "integer", "minimum": 1}, "GPUs needed at once"),
                    "release": _column({"type": "number", "minimum": 0}, "earliest start, seconds"),
                    "deadline": _column({"type": ["number", "null"], "minimum": 0}, "deadline, seconds"),
                    "weight": _column({"type": "number", "minimum": 0}, "weight / priority"),
                    "tenant": _column({"type": ["string", "null"]}, "tenant of each job"),
                    "per_type": {
                        "type": "object",
                        "description": "per GPU type id: the job columns that depend on the type",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["eligible", "demand"],
                            "additionalProperties": False,
                            "properties": per_type_props,
                        },
                    },
                },
            },
        },
    }


def solution_schema() -> dict[str, Any]:
    """The JSON Schema of solution files: one variant per registered problem class (its
    :attr:`~schedbench.instances.problems.ProblemClass.body_key` and ``solution_body``)."""
    envelope = {
        "objective": {"type": ["number", "null"], "description": "the objective the solver claims (checked)"},
        "bound": {"type": ["number", "null"], "description": "a bound the solver proved"},
        "status": {"type": "string"},
        "solver": {},
        "metadata": {"type": "object"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schedbench.dev/schema/solution/1",
        "title": "schedbench solution",
        "oneOf": [
            {
                "type": "object",
                "required": ["problem", cls.body_key],
                "additionalProperties": False,
                "properties": {"problem": {"const": cls.name}, cls.body_key: cls.solution_body, **envelope},
            }
            for cls in PROBLEM_CLASSES.values()
        ],
    }
