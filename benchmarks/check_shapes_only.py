"""Which module classes trace alike on the meta device: for each model, the profile from a real trace
(zeroed CPU storage, as archviz traced before) against the profile from a meta-device trace
(profiler.shapes_only), field for field (only the versions differ), and the meta run's activation
peak against memory.check_model's. Prints each model's verdict and, at the end, the classes of the
models that agree (the candidates for shapes_only.FOLLOWABLE) and, for each model that does
not, its classes outside them: none may be empty, or FOLLOWABLE would admit that model.

    .venv/bin/python benchmarks/check_shapes_only.py [model ...]   (default: the catalogue)"""

from __future__ import annotations

import json
import sys
import warnings

warnings.simplefilter("ignore")

from archviz.build import build_meta, constructor_of, default_input_shape, materialise, resolve_input  # noqa: E402
from archviz.catalog import catalog_info, catalogue_names, resolve  # noqa: E402
from archviz.memory import meta_activation_peak  # noqa: E402
from archviz.profiler import profile_module  # noqa: E402
from archviz.profiler.shapes_only import FOLLOWABLE, class_key, trace_shapes_only  # noqa: E402


def figures(p) -> str:
    data = p.to_dict()
    data.pop("versions", None)
    return json.dumps(data, sort_keys=True)


def compare(name: str) -> tuple[bool, set[str], str]:
    spec = resolve(name)
    info = catalog_info(spec)
    shape, layout = resolve_input(default_input_shape(spec, (info or {}).get("published")), None,
                                  image=spec.kind != "factory")
    constructor = constructor_of(spec, shape)
    meta = build_meta(constructor, shape)
    if meta is None:
        return True, set(), "no meta build (traced for real, as before)"
    classes = {class_key(m) for m in meta.modules()}
    peak = meta_activation_peak(meta, shape)
    made = trace_shapes_only(meta, shape)
    if made is None:
        return False, classes, "meta trace failed"
    fast = profile_module(meta, shape, spec.spec, info, layout=layout, trace=made[0])
    real = profile_module(materialise(spec, shape, build_meta(constructor, shape), constructor),
                          shape, spec.spec, info, layout=layout)
    if figures(fast) != figures(real):
        return False, classes, "profiles differ"
    if peak != made[1]:
        return False, classes, f"peak {made[1]} != {peak}"
    return True, classes, "same"


def main(names: list[str]) -> None:
    good: set[str] = set()
    differing: dict[str, set[str]] = {}
    for name in names:
        ok, classes, why = compare(name)
        print(f"{name:<28}{why}", flush=True)
        if ok:
            good |= classes
        else:
            differing[name] = classes
    print("\nFOLLOWABLE candidates (every class of a model that agrees):")
    for key in sorted(good):
        print(f"    {key!r},")
    print("not yet in FOLLOWABLE:", sorted(good - FOLLOWABLE) or "none")
    for name, classes in differing.items():
        print(f"{name} differs; its classes not followable: {sorted(classes - good) or 'NONE (unsafe!)'}")


if __name__ == "__main__":
    main(sys.argv[1:] or catalogue_names())
