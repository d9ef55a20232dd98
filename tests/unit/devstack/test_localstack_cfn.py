"""devstack.localstack_cfn.trim_for_localstack: the template minus what LocalStack cannot host without
Docker, on small SAM templates shaped like the packaged one (pure: no LocalStack needed)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from devstack import localstack_cfn
from devstack.localstack_cfn import MOCK_INTEGRATION, UnhandledReference, trim_for_localstack

ALIAS_URI = {
    "Fn::Sub": [
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${AliasArn}/invocations",
        {"AliasArn": {"Ref": "APIHandler.Alias"}},
    ]
}


def sam_template() -> dict[str, Any]:
    """The packaged template's shapes: a function with an alias, its permission, an API proxying to
    the alias, an alarm on a table, a usage plan depending on the stage, outputs of both kinds."""
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "APIHandler": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "FunctionName": "svc-dev",
                    "AutoPublishAlias": "live",
                    "CodeUri": "./deployment.zip",
                },
                "DependsOn": ["APIHandlerLogGroup"],
            },
            "APIHandlerLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/aws/lambda/svc-dev"},
            },
            "APIHandlerInvokePermission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": {"Ref": "APIHandler.Alias"},
                    "Action": "lambda:InvokeFunction",
                },
            },
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "StageName": "api",
                    "DefinitionBody": {
                        "paths": {
                            "/v1/decisions": {
                                "post": {
                                    "security": [{"api_key": []}],
                                    "x-amazon-apigateway-integration": {
                                        "type": "aws_proxy",
                                        "uri": ALIAS_URI,
                                    },
                                }
                            },
                            "/other": {
                                "get": {
                                    "x-amazon-apigateway-integration": {
                                        "type": "http_proxy",
                                        "uri": "https://example.com",
                                    }
                                }
                            },
                        }
                    },
                },
            },
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "svc-dev-t"}},
            "TableAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"Dimensions": [{"Name": "TableName", "Value": {"Ref": "Table"}}]},
            },
            "Plan": {
                "Type": "AWS::ApiGateway::UsagePlan",
                "DependsOn": ["RestAPIapiStage"],
                "Properties": {},
            },
        },
        "Outputs": {
            "APIHandlerArn": {"Value": {"Fn::GetAtt": ["APIHandler", "Arn"]}},
            "AliasArn": {"Value": {"Ref": "APIHandler.Alias"}},
            "RestAPIId": {"Value": {"Ref": "RestAPI"}},
        },
    }


def test_removes_functions_and_lambda_resources_only() -> None:
    trimmed = trim_for_localstack(sam_template())

    assert trimmed.removed == {
        "APIHandler": "AWS::Serverless::Function",
        "APIHandlerInvokePermission": "AWS::Lambda::Permission",
    }
    assert set(trimmed.template["Resources"]) == {
        "APIHandlerLogGroup",
        "RestAPI",
        "Table",
        "TableAlarm",
        "Plan",
    }
    # What does not involve a function is untouched, DependsOn on SAM-generated resources included.
    assert trimmed.template["Resources"]["TableAlarm"] == sam_template()["Resources"]["TableAlarm"]
    assert trimmed.template["Resources"]["Plan"]["DependsOn"] == ["RestAPIapiStage"]
    assert trimmed.template["Transform"] == "AWS::Serverless-2016-10-31"


def test_integrations_calling_a_removed_function_become_mock_ones() -> None:
    trimmed = trim_for_localstack(sam_template())

    paths = trimmed.template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert paths["/v1/decisions"]["post"]["x-amazon-apigateway-integration"] == MOCK_INTEGRATION
    assert paths["/v1/decisions"]["post"]["security"] == [{"api_key": []}]  # the key requirement stays
    assert paths["/other"]["get"]["x-amazon-apigateway-integration"]["type"] == "http_proxy"
    assert trimmed.mocked_methods == ["POST /v1/decisions"]
    # Nothing in the trimmed template names the function any more (LocalStack's engine resolves a
    # Ref to "APIHandler.Alias" before the SAM transform and rejects the template).
    assert "APIHandler.Alias" not in json.dumps(trimmed.template)


def test_outputs_describing_a_removed_resource_are_dropped() -> None:
    trimmed = trim_for_localstack(sam_template())

    assert set(trimmed.template["Outputs"]) == {"RestAPIId"}
    assert sorted(trimmed.dropped_outputs) == ["APIHandlerArn", "AliasArn"]


def test_argument_is_not_modified() -> None:
    template = sam_template()
    trim_for_localstack(template)
    assert template == sam_template()


def test_references_to_a_removed_function_become_its_name_and_arns() -> None:
    template = sam_template()
    template["Resources"]["ErrorsAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "DependsOn": "APIHandler",
        "Properties": {
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "APIHandler"}}],
            "AlarmDescription": {"Fn::Sub": "errors of ${APIHandler} (${APIHandler.Arn})"},
            "Arn": {"Fn::GetAtt": "APIHandler.Arn"},
            "Alias": {"Ref": "APIHandler.Alias"},
        },
    }
    trimmed = trim_for_localstack(template)

    alarm = trimmed.template["Resources"]["ErrorsAlarm"]
    arn = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:svc-dev"
    assert "DependsOn" not in alarm
    assert alarm["Properties"]["Dimensions"][0]["Value"] == "svc-dev"
    assert alarm["Properties"]["Arn"] == {"Fn::Sub": arn}
    assert alarm["Properties"]["Alias"] == {"Fn::Sub": f"{arn}:live"}
    assert alarm["Properties"]["AlarmDescription"] == {
        "Fn::Sub": [
            "errors of ${RemovedAPIHandler} (${RemovedAPIHandlerArn})",
            {"RemovedAPIHandler": "svc-dev", "RemovedAPIHandlerArn": {"Fn::Sub": arn}},
        ]
    }
    assert len(trimmed.rewritten_references) == 5


def test_sub_variables_shadowing_a_removed_id_are_left_alone() -> None:
    template = sam_template()
    template["Resources"]["Topic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": {"Fn::Sub": ["${APIHandler}-topic", {"APIHandler": "mine"}]}},
    }
    trimmed = trim_for_localstack(template)
    assert trimmed.template["Resources"]["Topic"] == template["Resources"]["Topic"]


@pytest.mark.parametrize(
    "reference",
    [{"Ref": "APIHandlerInvokePermission"}, {"Fn::GetAtt": ["APIHandler", "SnapStartResponse"]}],
    ids=["ref-to-a-permission", "unknown-attribute"],
)
def test_a_reference_without_a_stand_in_fails_loudly(reference: dict[str, Any]) -> None:
    template = sam_template()
    template["Resources"]["Queue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"Tags": [{"Key": "k", "Value": reference}]},
    }
    with pytest.raises(UnhandledReference, match="/Resources/Queue/Properties/Tags/0/Value"):
        trim_for_localstack(template)


def test_a_function_without_a_fixed_name_has_no_stand_in() -> None:
    template = sam_template()
    del template["Resources"]["APIHandler"]["Properties"]["FunctionName"]
    template["Resources"]["TableAlarm"]["Properties"]["Name"] = {"Ref": "APIHandler"}
    with pytest.raises(UnhandledReference):
        trim_for_localstack(template)


def test_plain_lambda_function_resources_are_removed_too() -> None:
    template = copy.deepcopy(sam_template())
    template["Resources"]["Plain"] = {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "p"}}
    template["Resources"]["Mapping"] = {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {"FunctionName": {"Ref": "Plain"}},
    }
    trimmed = trim_for_localstack(template)
    assert {"Plain", "Mapping"} <= set(trimmed.removed)


def test_failures_lists_failed_events_only() -> None:
    events = [
        {
            "LogicalResourceId": "A",
            "ResourceType": "T",
            "ResourceStatus": "CREATE_FAILED",
            "ResourceStatusReason": "boom",
        },
        {"LogicalResourceId": "B", "ResourceType": "T", "ResourceStatus": "CREATE_COMPLETE"},
    ]
    assert localstack_cfn.failures(events) == ["A (T): boom"]
