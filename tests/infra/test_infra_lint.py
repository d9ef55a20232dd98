"""cfn-lint on the packaged templates: zero errors and zero warnings, before and after the SAM
transform, in the deploy regions (infra_template_support.DEPLOY_REGIONS; the region-rule tests lint
the types some regions lack in every region)."""

from __future__ import annotations

import json

import pytest
from infra_template_support import Template, lint_problems

from chalicelib import resources

_problems = lint_problems


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_packaged_sam_template_lints_clean(templates: dict[str, Template], stage: str) -> None:
    assert _problems(templates[stage]) == []


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_template_after_sam_transform_lints_clean(expanded: dict[str, Template], stage: str) -> None:
    assert _problems(expanded[stage]) == []


def test_lint_catches_a_broken_template(templates: dict[str, Template]) -> None:
    # The check above can fail: an alarm pointing at a topic that does not exist is an error.
    broken = json.loads(json.dumps(templates["prod"]))
    broken["Resources"]["ApiLatencyP95Alarm"]["Properties"]["AlarmActions"] = [{"Ref": "NoSuchTopic"}]
    assert any("NoSuchTopic" in problem for problem in _problems(broken))


def _mixed_intrinsics(node: object, path: str = "") -> list[str]:
    """Dicts holding an intrinsic function next to any other key: what a recursive merge leaves
    behind when the merge template replaces one of Chalice's intrinsics with a different one."""
    found: list[str] = []
    if isinstance(node, dict):
        intrinsic = [key for key in node if key == "Ref" or key.startswith("Fn::")]
        if intrinsic and len(node) > 1:
            found.append(f"{path}: {sorted(node)}")
        for key, value in node.items():
            found += _mixed_intrinsics(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _mixed_intrinsics(value, f"{path}/{index}")
    return found


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_merge_left_no_intrinsic_next_to_another_key(templates: dict[str, Template], stage: str) -> None:
    assert _mixed_intrinsics(templates[stage]) == []


def test_mixed_intrinsic_detection_works() -> None:
    assert _mixed_intrinsics({"Uri": {"Fn::Sub": "a", "Fn::GetAtt": ["b", "Arn"]}}) == [
        "/Uri: ['Fn::GetAtt', 'Fn::Sub']"
    ]
