"""The decision-events bus.

The functions publish one event per decision to the bus (``events:PutEvents``, named by
``DECISION_EVENTS_BUS`` in their environment), for any consumer in the account. Lenders receive
their own events through their webhooks (``chalicelib.service.webhooks``, ``infra.webhooks``): the
deployment-wide API destination that forwarded every client's events to one URL is gone.
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from infra import names

Resource = dict[str, Any]
BUS = resources.DECISION_EVENTS_BUS

PARAMETERS: dict[str, Any] = {}
CONDITIONS: dict[str, Any] = {}


def event_pattern() -> dict[str, Any]:
    """Everything the service publishes on its bus (decision.made, review.completed, ...)."""
    return {"source": [BUS.source]}


def bus_resources(stage: str) -> dict[str, Resource]:
    return {
        BUS.logical_id: {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": names.event_bus_name(stage)},
        }
    }


def event_resources(stage: str) -> dict[str, Resource]:
    return bus_resources(stage)


def outputs() -> dict[str, Any]:
    return {"DecisionEventsBusArn": {"Value": {"Fn::GetAtt": [BUS.logical_id, "Arn"]}}}
