"""The headline figures of a Profile, each with its convention: one list that the dashboard, the
report and notebooks all show as cards."""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

from .numbers import grouped, human, pair, printable, shape

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ..record import Profile


def _before(t: dict[str, Any]) -> str:
    """The last known field, where the output's is global or unknown: '435 px at stride 32, at layer4'."""
    last = t.get("last_spatial_field")
    if not last:
        return ""
    return (f"{pair(last['receptive_field'])} px at stride {pair(last['effective_stride'])}, "
            f"at {printable(last['at'] or '-')}")


def field_card(t: dict[str, Any]) -> tuple[str, str]:
    """(value, note) of the receptive field card: the output's field, and the layer it describes."""
    rf, at = t.get("receptive_field"), printable(t.get("receptive_field_at") or "-")
    before = _before(t)
    if rf == "global":
        return f"global (at {at})", "every input position" + (f" · before it {before}" if before else "")
    if rf is None:
        return "unknown", f"at {at}" + (f" · last known {before}" if before else "")
    return f"{pair(rf)} px", f"stride {pair(t.get('effective_stride'))} · at {at}"


def field_brief(t: dict[str, Any]) -> tuple[str, str]:
    """(receptive field, effective stride) in a comparison cell: the output's, with the last
    spatial field where the output mixes every position ('global (435 before)')."""
    rf, last = t.get("receptive_field"), t.get("last_spatial_field")
    if isinstance(rf, list):
        return pair(rf), pair(t.get("effective_stride"))
    word = "global" if rf == "global" else "unknown"
    if not last:
        return word, "-"
    return (f"{word} ({pair(last['receptive_field'])} before)",
            f"- ({pair(last['effective_stride'])} before)")


def headline(p: Profile) -> list[tuple[str, str, str]]:
    """(label, value, note) for each card."""
    t = p.totals
    rf_value, rf_note = field_card(t)
    return [("Parameters", human(t["params"]), grouped(t["params"])),
            ("MACs", human(t["macs"]), "multiply-adds, all counted ops"),
            ("FLOPs", human(t["flops"]), "= 2 × MACs"),
            ("Conv+linear MACs", human(t["conv_linear_macs"]), "what torchvision publishes as GFLOPS"),
            ("Depth", str(t["depth"]), "weighted layers, longest path"),
            ("Receptive field", rf_value, rf_note),
            ("Activations", human(t["activations"]), "conv/linear outputs (fvcore)"),
            ("Input", shape(p.input_shape), "×".join(p.layout) if len(p.layout) <= 5 else p.layout)]
