"""What a model is: its metadata, training data, cross-validation scores, threshold and strongest weights.

Read from the model's own parameters (``StoryModel.to_dict``), so any model file can be inspected.
Weights are of standardised features: a weight is the change in log-odds per standard deviation.
"""

from __future__ import annotations

from typing import Any

from storyline.classifier.model import StoryModel


def strongest_weights(stage: dict[str, Any], top: int) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The ``top`` features pushing most towards story, and towards chrome."""
    pairs = list(zip(stage["feature_names"], stage["classifier"]["coef"], strict=True))
    story = sorted((p for p in pairs if p[1] > 0), key=lambda p: -p[1])[:top]
    chrome = sorted((p for p in pairs if p[1] < 0), key=lambda p: p[1])[:top]
    return story, chrome


def model_report(model: StoryModel, top: int = 10) -> dict[str, Any]:
    """A JSON-ready description of ``model``."""
    data = model.to_dict()
    meta = data.get("metadata", {})
    heads: dict[str, Any] = {}
    for kind, head in data["heads"].items():
        story, chrome = strongest_weights(head["stage1"], top)
        entry: dict[str, Any] = {
            "threshold": head["threshold"],
            "switch_cost": head.get("switch_cost", 0.0),
            "forum_offset": head.get("forum_offset", 0.0),
            "features": len(head["stage1"]["feature_names"]),
            "C": head["stage1"]["classifier"].get("C"),
            "class_weight": head["stage1"]["classifier"].get("class_weight"),
            "story_weights": story,
            "chrome_weights": chrome,
        }
        if head.get("sequence"):
            s_story, s_chrome = strongest_weights(head["sequence"], min(top, 5))
            entry["sequence_story_weights"], entry["sequence_chrome_weights"] = s_story, s_chrome
        cv = meta.get("cv", {}).get(kind)
        if cv:
            entry["cv"] = {k: cv.get(k) for k in ("cv_shingle", "cv_line", "cv_by_dataset", "search")}
        heads[kind] = entry
    return {
        "schema_version": data["schema_version"],
        "checksum": data["checksum"],
        "storyline_version": meta.get("storyline_version"),
        "created": meta.get("created"),
        "training": meta.get("training", {}),
        "heads": heads,
    }


def format_model_report(report: dict[str, Any]) -> str:
    """The report as text for a terminal."""
    out = [
        f"storyline model, feature schema {report['schema_version']}, made by storyline "
        f"{report['storyline_version']} on {report['created']}",
        f"checksum {report['checksum'][:16]}…",
    ]
    datasets = report["training"].get("datasets", {})
    if datasets:
        out.append("training data:")
        for name, s in datasets.items():
            out.append(
                f"  {name}: {s.get('used')}/{s.get('pages')} pages used, {s.get('sites')} sites, "
                f"{s.get('lines')} lines ({s.get('story_lines')} story)"
            )
    for kind, head in report["heads"].items():
        out.append(
            f"{kind} head: {head['features']} features, C={head['C']}, class weight {head['class_weight']}, "
            f"threshold {head['threshold']:.2f}"
            + (f", lines read as runs (switch cost {head['switch_cost']:g})" if head.get("switch_cost") else "")
            + (f", forum pages at {head['threshold'] - head['forum_offset']:.3g}" if head.get("forum_offset") else "")
        )
        cv = head.get("cv")
        if cv and cv.get("cv_shingle"):
            sh, ln = cv["cv_shingle"], cv.get("cv_line") or {}
            out.append(
                f"  out-of-fold (grouped by site): shingle F1 {sh['f1']:.3f} (P {sh['precision']:.3f}, "
                f"R {sh['recall']:.3f}); line F1 {ln.get('f1', float('nan')):.3f}"
            )
            for name, s in (cv.get("cv_by_dataset") or {}).items():
                score = f"shingle F1 {s['f1']:.3f}" if "f1" in s else f"line F1 {s['line_f1']:.3f} (snippets)"
                out.append(f"    {name}: {score}")
        out.append("  strongest towards story:  " + ", ".join(f"{n} {w:+.2f}" for n, w in head["story_weights"]))
        out.append("  strongest towards chrome: " + ", ".join(f"{n} {w:+.2f}" for n, w in head["chrome_weights"]))
        if head.get("sequence_story_weights"):
            seq = head["sequence_story_weights"] + head["sequence_chrome_weights"]
            out.append("  sequence pass: " + ", ".join(f"{n} {w:+.2f}" for n, w in seq))
    return "\n".join(out)
