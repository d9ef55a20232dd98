"""LocalStack READY hook: create the stage's tables (with their indexes), queues and decision-events
bus from chalicelib/resources.py.

LocalStack runs this file in its own Python process (which ships boto3) once the gateway is ready.
It calls the same idempotent bootstrap as ``make run`` (``devstack.bootstrap``), so the
LocalStack copy has exactly the shape of the local stack and of the CloudFormation template.

Environment: LOAN_DECISIONS_PROJECT (where the project is mounted, default /opt/loan-decisions),
STAGE (default local), AWS_ENDPOINT_URL (default http://localhost:4566), AWS_DEFAULT_REGION.
The tests run this very file against a moto server (tests/infra/test_infra_localstack_hook.py).
"""

import os
import sys
from pathlib import Path


def main() -> None:
    project = Path(os.environ.get("LOAN_DECISIONS_PROJECT", "/opt/loan-decisions"))
    sys.path.insert(0, str(project))
    import boto3

    from chalicelib import resources
    from devstack.bootstrap import create_tables_and_queues

    stage = os.environ.get("STAGE", "local")
    session = boto3.session.Session(
        region_name=os.environ.get("AWS_DEFAULT_REGION", resources.LOCAL_REGION),
        # LocalStack needs some credentials; these can never reach a real account.
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
    created = create_tables_and_queues(
        stage,
        session.client("dynamodb", endpoint_url=endpoint),
        session.client("sqs", endpoint_url=endpoint),
        # The decision-events bus and its rule to a local queue (LocalStack has no lender webhook).
        session.client("events", endpoint_url=endpoint),
    )
    print(
        f"{resources.SERVICE} {stage}: tables {created['tables']}, queues {sorted(created['queues'])}, "
        f"events {created['events']['bus']} -> {created['events']['queue']}"
    )


# Executed unconditionally: LocalStack runs hook files as scripts, not as importable modules.
main()
