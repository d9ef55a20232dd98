"""loan-decisions: the Chalice app. Routes and event handlers only; the work is in chalicelib/.

Layers, each importing only those below it (tests/unit/test_layers.py checks):
app.py -> chalicelib.http (request/response handling) -> chalicelib.service (decisions,
applications, worker) -> chalicelib.dal (DynamoDB, SQS) -> chalicelib.records -> chalicelib.engine;
chalicelib.observability, .errors, .config, .privacy and .resources are leaves every layer may use.

Every route is declared once in ``chalicelib/http/routes.py`` and registered here with ``@route``
(``chalicelib/http/router.py``: it also accepts any Content-Type at the Chalice level, so that 415
and every other error is answered in the API's own JSON shape, ``chalicelib/errors.py``).
"""

import gc
from typing import TYPE_CHECKING, Any

# Lambda's init phase (this module's import) allocates a few hundred thousand objects that live as
# long as the process: botocore's service models and endpoint data, the clients, the model artifact.
# The cyclic collector's passes over them during the import find nothing to free and cost ~35 ms of
# every cold start (bench/bench_cold_start.py). So collection is off until the import ends; then
# those objects are frozen out of every later collection (which also keeps the requests'
# collections short) and collection is on again. The imports below come after this on purpose.
gc.disable()

from chalice.app import Chalice, CloudWatchEvent, CognitoUserPoolAuthorizer, Cron, Rate, Response, SQSEvent

# Only what a decision needs is imported here: every module imported at init is paid on every cold
# start, and most cold starts serve decisions. Each other view imports its module in its body (once
# per process; Python's import lock makes that safe across threads), and tests/unit/
# test_app_init_phase.py keeps the list of what the init phase must not load.
from chalicelib import resources
from chalicelib.config import check_serving_environment, maximum_concurrency, queue_name, staff_pool_arn
from chalicelib.http import decisions, router, routes
from chalicelib.http.edge import install_edge
from chalicelib.http.middleware import current_request, http_middleware
from chalicelib.observability import lambda_middlewares
from chalicelib.service import dependencies

if TYPE_CHECKING:
    from chalicelib.service.batches import Batches

check_serving_environment()
# The clients every request uses (DynamoDB, EventBridge) are made here, in Lambda's init phase, not
# on the first request; SQS and KMS, which a synchronous decision never uses, on first use.
dependencies.current()

app = Chalice(app_name=resources.SERVICE)
for middleware in lambda_middlewares():
    app.register_middleware(middleware, "all")
app.register_middleware(http_middleware, "http")


# Each view is registered from its declaration (chalicelib/http/routes.py: path, method, who may
# call it, query parameters, body, responses), which the OpenAPI document also reads. Staff routes:
# a Cognito ID token (verified by API Gateway; locally by devstack.staff_auth), no API key. Client
# routes: an API key, no staff token.
staff = CognitoUserPoolAuthorizer(resources.STAFF_POOL.authorizer_name, provider_arns=[staff_pool_arn()])
route = router.registrar(app, staff)


@route(routes.CREATE_DECISION)
def create_decision() -> Response:
    return decisions.create_decision(current_request())


@route(routes.LIST_DECISIONS)
def list_decisions() -> Response:
    return decisions.list_decisions(current_request())


@route(routes.GET_DECISION)
def get_decision(decision_id: str) -> Response:
    return decisions.get_decision(current_request(), decision_id)


@route(routes.GET_NOTICE)
def get_decision_notice(decision_id: str) -> Response:
    return decisions.get_notice(current_request(), decision_id)


@route(routes.CHECK_ELIGIBILITY)
def check_eligibility() -> Response:
    return decisions.check_eligibility(current_request())


@route(routes.SUBMIT_APPLICATION)
def submit_application() -> Response:
    from chalicelib.http import applications

    return applications.submit_application(current_request())


@route(routes.LIST_APPLICATIONS)
def list_applications() -> Response:
    from chalicelib.http import applications

    return applications.list_applications(current_request())


@route(routes.GET_APPLICATION)
def get_application(application_id: str) -> Response:
    from chalicelib.http import applications

    return applications.get_application(current_request(), application_id)


@route(routes.HEALTH)
def health_summary() -> Response:
    from chalicelib.http import health

    return health.summary()


@route(routes.HEALTH_LIVE)
def health_live() -> Response:
    from chalicelib.http import health

    return health.live()


@route(routes.HEALTH_READY)
def health_ready() -> Response:
    from chalicelib.http import health

    return health.ready(current_request())


@route(routes.HEALTH_DETAILED)
def health_detailed() -> Response:
    from chalicelib.http import health

    return health.detailed(current_request())


@route(routes.METRICS)
def prometheus_metrics() -> Response:
    from chalicelib.http import health

    return health.metrics(current_request())


@route(routes.OPENAPI_DOCUMENT)
def openapi_document() -> Response:
    from chalicelib.http import openapi

    return openapi.document_response(current_request())


@route(routes.DOCS)
def api_docs() -> Response:
    from chalicelib.http import static_files

    return static_files.docs_page()


@route(routes.DOCS_FILE)
def api_docs_file(name: str) -> Response:
    from chalicelib.http import static_files

    return static_files.docs_file(name)


# The loan-officer console: static files, public (the page holds no data; it asks for a key).
@route(routes.CONSOLE)
def console_page() -> Response:
    from chalicelib.http import static_files

    return static_files.console_page()


@route(routes.CONSOLE_FILE)
def console_file(name: str) -> Response:
    from chalicelib.http import static_files

    return static_files.console_file(name)


@route(routes.LIST_REVIEWS)
def list_reviews() -> Response:
    from chalicelib.http import reviews

    return reviews.list_reviews(current_request())


@route(routes.GET_REVIEW)
def get_review(review_id: str) -> Response:
    from chalicelib.http import reviews

    return reviews.get_review(current_request(), review_id)


@route(routes.CLAIM_REVIEW)
def claim_review(review_id: str) -> Response:
    from chalicelib.http import reviews

    return reviews.claim_review(current_request(), review_id)


@route(routes.RELEASE_REVIEW)
def release_review(review_id: str) -> Response:
    from chalicelib.http import reviews

    return reviews.release_review(current_request(), review_id)


@route(routes.DECIDE_REVIEW)
def decide_review(review_id: str) -> Response:
    from chalicelib.http import reviews

    return reviews.decide_review(current_request(), review_id)


@route(routes.SECOND_APPROVAL)
def second_approval(review_id: str) -> Response:
    from chalicelib.http import reviews

    return reviews.second_approval(current_request(), review_id)


@route(routes.APPLICATION_AUDIT)
def application_audit(application_id: str) -> Response:
    from chalicelib.http import reviews

    return reviews.application_audit(current_request(), application_id)


@route(routes.RERUN_DECISION)
def rerun_decision(decision_id: str) -> Response:
    return decisions.rerun_decision(current_request(), decision_id)


# ---- Decision versions (issue 18): the registry's staff routes
@route(routes.LIST_VERSIONS)
def list_versions() -> Response:
    from chalicelib.http import versions

    return versions.list_versions(current_request())


@route(routes.GET_VERSION)
def get_version(version_id: str) -> Response:
    from chalicelib.http import versions

    return versions.get_version(current_request(), version_id)


@route(routes.REGISTER_VERSION)
def register_version() -> Response:
    from chalicelib.http import versions

    return versions.register_version(current_request())


@route(routes.PROMOTE_VERSION)
def promote_version(version_id: str) -> Response:
    from chalicelib.http import versions

    return versions.promote_version(current_request(), version_id)


@route(routes.APPROVE_VERSION_CHANGE)
def approve_version_change(change_id: str) -> Response:
    from chalicelib.http import versions

    return versions.approve_change(current_request(), change_id)


@route(routes.ROLLBACK_VERSIONS)
def rollback_versions() -> Response:
    from chalicelib.http import versions

    return versions.rollback(current_request())


# ---- The registry's audit trail (issue 18's gaps)
@route(routes.VERSION_AUDIT)
def version_audit() -> Response:
    from chalicelib.http import versions

    return versions.version_audit(current_request())


@app.on_sqs_message(
    queue=queue_name(resources.APPLICATIONS_QUEUE),
    batch_size=resources.APPLICATIONS_QUEUE.batch_size,
    maximum_batching_window_in_seconds=resources.APPLICATIONS_QUEUE.batching_window_seconds,
    maximum_concurrency=maximum_concurrency(resources.APPLICATIONS_QUEUE),
)
def process_application_queue(event: SQSEvent) -> dict[str, Any]:
    """SQS worker (chalicelib/service/worker.py); locally the devstack poller invokes it."""
    from chalicelib.service import worker

    return worker.process_batch(event.to_dict(), event.context, dependencies.current())


@app.schedule(Rate(resources.RECONCILE_EVERY_MINUTES, unit=Rate.MINUTES))
def reconcile_pending_applications(event: CloudWatchEvent) -> dict[str, Any]:
    """No application left PENDING (chalicelib/service/reconciler.py); locally a devstack timer."""
    from chalicelib.service import reconciler

    return reconciler.reconcile(dependencies.current())._asdict()


# ------------------------------------------------------------------ lenders' webhooks (issue 22)
@route(routes.CREATE_WEBHOOK)
def create_webhook() -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.create_webhook(current_request())


@route(routes.LIST_WEBHOOKS)
def list_webhooks() -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.list_webhooks(current_request())


@route(routes.GET_WEBHOOK)
def get_webhook(webhook_id: str) -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.get_webhook(current_request(), webhook_id)


@route(routes.UPDATE_WEBHOOK)
def update_webhook(webhook_id: str) -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.update_webhook(current_request(), webhook_id)


@route(routes.DELETE_WEBHOOK)
def delete_webhook(webhook_id: str) -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.delete_webhook(current_request(), webhook_id)


@route(routes.ROTATE_WEBHOOK_SECRET)
def rotate_webhook_secret(webhook_id: str) -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.rotate_secret(current_request(), webhook_id)


@route(routes.TEST_WEBHOOK)
def test_webhook(webhook_id: str) -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.test_webhook(current_request(), webhook_id)


@route(routes.LIST_WEBHOOK_DELIVERIES)
def list_webhook_deliveries(webhook_id: str) -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.list_deliveries(current_request(), webhook_id)


@route(routes.REDELIVER_WEBHOOK)
def redeliver_webhook(webhook_id: str, delivery_id: str) -> Response:
    from chalicelib.http import webhooks as http_webhooks

    return http_webhooks.redeliver(current_request(), webhook_id, delivery_id)


@app.on_sqs_message(
    queue=queue_name(resources.WEBHOOK_QUEUE),
    batch_size=resources.WEBHOOK_QUEUE.batch_size,
    maximum_batching_window_in_seconds=resources.WEBHOOK_QUEUE.batching_window_seconds,
    maximum_concurrency=maximum_concurrency(resources.WEBHOOK_QUEUE),
)
def deliver_webhooks(event: SQSEvent) -> dict[str, Any]:
    """Fans events out and makes delivery attempts (chalicelib/service/webhooks.py); locally the
    devstack poller invokes it."""
    from chalicelib.service import webhooks as service_webhooks

    configured = dependencies.current().webhooks
    if configured is None:
        raise RuntimeError("no webhook dependencies in this environment")
    return service_webhooks.handle_batch(configured, event.to_dict())


# ---- Loan outcomes (issue 20): a client reports how a decided loan performs
@route(routes.RECORD_OUTCOME)
def record_loan_outcome(decision_id: str) -> Response:
    from chalicelib.http import outcomes as http_outcomes

    return http_outcomes.record_outcome(current_request(), decision_id)


@route(routes.RECORD_OUTCOMES)
def record_loan_outcomes() -> Response:
    from chalicelib.http import outcomes as http_outcomes

    return http_outcomes.record_outcomes(current_request())


# ------------------------------------------------------------------ monitoring (issue 20, monitor-run)
@route(routes.START_MONITORING_RUN)
def start_monitoring_run() -> Response:
    from chalicelib.http import monitoring as http_monitoring

    return http_monitoring.start_run(current_request())


@route(routes.LIST_MONITORING_REPORTS)
def list_monitoring_reports() -> Response:
    from chalicelib.http import monitoring as http_monitoring

    return http_monitoring.list_reports(current_request())


@route(routes.GET_MONITORING_REPORT)
def get_monitoring_report(report_id: str) -> Response:
    from chalicelib.http import monitoring as http_monitoring

    return http_monitoring.get_report(current_request(), report_id)


@app.schedule(Cron(*resources.monitoring_schedule_cron()))
def run_monitoring(event: CloudWatchEvent) -> dict[str, Any]:
    """The daily monitoring run (chalicelib/service/monitoring.py); locally a devstack timer."""
    from chalicelib.service import monitoring as service_monitoring

    return service_monitoring.scheduled_run(dependencies.current())


# ------------------------------------------------------------------ monitoring fanned out (issue 20, monfan)
@app.on_sqs_message(
    queue=queue_name(resources.MONITORING_PARTS_QUEUE),
    batch_size=resources.MONITORING_PARTS_QUEUE.batch_size,
    maximum_batching_window_in_seconds=resources.MONITORING_PARTS_QUEUE.batching_window_seconds,
    maximum_concurrency=maximum_concurrency(resources.MONITORING_PARTS_QUEUE),
)
def run_monitoring_parts(event: SQSEvent) -> dict[str, Any]:
    """One (day, shard) partition of a monitoring run; the last part merges and stores the report
    (chalicelib/service/monitoring.py). Locally devstack.sqs_poller on the parts queue."""
    from chalicelib.service import monitoring as service_monitoring

    return service_monitoring.handle_parts(dependencies.current(), event.to_dict())


@app.on_sqs_message(
    queue=queue_name(resources.MONITORING_PARTS_QUEUE, dead_letters=True),
    batch_size=resources.MONITORING_PARTS_QUEUE.batch_size,
    maximum_concurrency=resources.MONITORING_PARTS_QUEUE.MINIMUM_MAXIMUM_CONCURRENCY,
)
def settle_failed_monitoring_parts(event: SQSEvent) -> dict[str, Any]:
    """A part that kept failing: its run is marked failed, naming the partition."""
    from chalicelib.service import monitoring as service_monitoring

    return service_monitoring.handle_dead_parts(dependencies.current(), event.to_dict())


# ------------------------------------------------------------------ batches and backtests (issue 19)


@route(routes.CREATE_BATCH)
def create_batch() -> Response:
    from chalicelib.http import batches as http_batches

    return http_batches.create_batch(current_request())


@route(routes.START_BATCH)
def start_batch(batch_id: str) -> Response:
    from chalicelib.http import batches as http_batches

    return http_batches.start_batch(current_request(), batch_id)


@route(routes.GET_BATCH)
def get_batch(batch_id: str) -> Response:
    from chalicelib.http import batches as http_batches

    return http_batches.get_batch(current_request(), batch_id)


@route(routes.LIST_BATCHES)
def list_batches() -> Response:
    from chalicelib.http import batches as http_batches

    return http_batches.list_batches(current_request())


@route(routes.CREATE_BACKTEST)
def create_backtest() -> Response:
    from chalicelib.http import batches as http_batches

    return http_batches.create_batch(current_request(), staff=True)


@route(routes.START_BACKTEST)
def start_backtest(batch_id: str) -> Response:
    from chalicelib.http import batches as http_batches

    return http_batches.start_batch(current_request(), batch_id, staff=True)


@route(routes.GET_BACKTEST)
def get_backtest(batch_id: str) -> Response:
    from chalicelib.http import batches as http_batches

    return http_batches.get_batch(current_request(), batch_id, staff=True)


@route(routes.LIST_BACKTESTS)
def list_backtests() -> Response:
    from chalicelib.http import batches as http_batches

    return http_batches.list_batches(current_request(), staff=True)


def _configured_batches() -> "Batches":
    configured = dependencies.current().batches
    if configured is None:
        raise RuntimeError("no batch dependencies in this environment")
    return configured


@app.on_sqs_message(
    queue=queue_name(resources.BATCH_CHUNKS_QUEUE),
    batch_size=resources.BATCH_CHUNKS_QUEUE.batch_size,
    maximum_batching_window_in_seconds=resources.BATCH_CHUNKS_QUEUE.batching_window_seconds,
    maximum_concurrency=maximum_concurrency(resources.BATCH_CHUNKS_QUEUE),
)
def score_batch_chunks(event: SQSEvent) -> dict[str, Any]:
    """Plans a batch's file and scores its chunks (chalicelib/service/batches.py); capped by its
    reserved concurrency and the mapping's MaximumConcurrency. Locally devstack.batch_poller."""
    from chalicelib.service import batches as service_batches

    return service_batches.handle_batch(_configured_batches(), event.to_dict())


@app.on_sqs_message(
    queue=queue_name(resources.BATCH_CHUNKS_QUEUE, dead_letters=True),
    batch_size=resources.BATCH_CHUNKS_QUEUE.batch_size,
    maximum_concurrency=resources.BATCH_CHUNKS_QUEUE.MINIMUM_MAXIMUM_CONCURRENCY,
)
def settle_failed_batch_chunks(event: SQSEvent) -> dict[str, Any]:
    """A chunk that kept failing: recorded failed with its row range, so the batch completes."""
    from chalicelib.service import batches as service_batches

    return service_batches.handle_dead_letters(_configured_batches(), event.to_dict())


# Last: the edge (security headers, CORS, the local stage's gateway emulation) wraps every route.
install_edge(app)

# The end of the init phase: see gc.disable() at the top.
gc.freeze()
gc.enable()
