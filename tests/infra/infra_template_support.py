"""Helpers for the template tests (a uniquely named module, importable from every test file)."""

from __future__ import annotations

import copy
import os
from typing import Any

from chalicelib import resources

# What `aws cloudformation package` would write in place of CodeUri (the translator insists on S3).
UPLOADED_CODE_URI = f"s3://{resources.SERVICE}-artifacts/deployment.zip"

Template = dict[str, Any]


class _NoManagedPolicies:
    # The Chalice template attaches inline policies only; nothing to look up in IAM.
    def load(self) -> dict[str, str]:
        return {}


def expand_sam(template: Template) -> Template:
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = UPLOADED_CODE_URI
    old_region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        return transform(template, {}, _NoManagedPolicies())
    finally:
        if old_region is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = old_region


def resources_of_type(template: Template, resource_type: str) -> dict[str, Template]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }
