"""The decision versions' bucket in the template: S3 bucket names are global across accounts, so a
deployed stage's name ends in the account id; the functions find it by the bucket's own Ref and
their role may read and write its blobs under that same name. The local stack keeps the plain name."""

from __future__ import annotations

import pytest
from chalice.utils import to_cfn_resource_name
from infra_template_support import Template

from chalicelib import resources
from infra import chalice_config
from infra.policies import policy_document

MAX_BUCKET_NAME = 63  # S3's limit
ACCOUNT_ID_LENGTH = 12


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("spec", resources.BUCKETS, ids=lambda spec: spec.logical_id)
def test_a_deployed_buckets_name_ends_in_the_account_id(
    templates: dict[str, Template], stage: str, spec: resources.BucketSpec
) -> None:
    name = templates[stage]["Resources"][spec.logical_id]["Properties"]["BucketName"]
    assert name == {"Fn::Sub": f"{resources.SERVICE}-{stage}-{spec.suffix}-${{AWS::AccountId}}"}
    assert len(name["Fn::Sub"].replace("${AWS::AccountId}", "0" * ACCOUNT_ID_LENGTH)) <= MAX_BUCKET_NAME


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_functions_role_reaches_the_blobs_of_exactly_that_bucket(
    templates: dict[str, Template], stage: str
) -> None:
    (blobs,) = [s for s in policy_document(stage)["Statement"] if s["Sid"] == "DecisionVersionsBlobs"]
    suffix = resources.VERSIONS_BUCKET.suffix
    expected = [{"Fn::Sub": f"arn:aws:s3:::{resources.SERVICE}-{stage}-{suffix}-${{AWS::AccountId}}/blobs/*"}]
    assert blobs["Resource"] == expected
    role = templates[stage]["Resources"][f"{to_cfn_resource_name(resources.API_FUNCTION.chalice_name)}Role"]
    role = role["Properties"]
    (policy,) = role["Policies"]
    assert blobs in policy["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("spec", resources.BUCKETS, ids=lambda spec: spec.logical_id)
def test_the_local_stack_keeps_the_plain_name(spec: resources.BucketSpec) -> None:
    variables = chalice_config.environment_variables("local")
    assert variables[spec.env_var] == resources.resource_name("local", spec.suffix)
    (blobs,) = [s for s in policy_document("local")["Statement"] if s["Sid"] == "DecisionVersionsBlobs"]
    versions = resources.resource_name("local", resources.VERSIONS_BUCKET.suffix)
    assert blobs["Resource"] == [f"arn:aws:s3:::{versions}/blobs/*"]
