"""loan-decisions: the Chalice app. Routes and event handlers only; the work is in chalicelib/.

Views read the request with ``current_request()``, not ``app.current_request``: the latter is shared
by the threads ``chalice local`` serves requests on (see chalicelib/observability.py).

Every route accepts any Content-Type at the Chalice level (``ANY_CONTENT_TYPE``) so that 415 and
every other error is answered in the API's own JSON shape (``chalicelib/api/errors.py``).
"""

from chalice import Chalice, Response
from chalice.app import SQSEvent

from chalicelib import openapi, resources
from chalicelib.api import applications, decisions, health, prometheus, worker
from chalicelib.api.requests import ANY_CONTENT_TYPE
from chalicelib.config import worker_maximum_concurrency, worker_queue_name
from chalicelib.edge import install_edge
from chalicelib.observability import current_request, http_middleware, lambda_middlewares

app = Chalice(app_name="loan-decisions")
for middleware in lambda_middlewares():
    app.register_middleware(middleware, "all")
app.register_middleware(http_middleware, "http")


@app.route("/v1/decisions", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def create_decision() -> Response:
    return decisions.handle_decision(current_request())


@app.route("/v1/eligibility", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def check_eligibility() -> Response:
    return decisions.handle_eligibility(current_request())


@app.route("/v1/applications", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def submit_application() -> Response:
    return applications.handle_submit(current_request())


@app.route("/v1/applications/{application_id}", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def get_application(application_id: str) -> Response:
    return applications.handle_status(application_id)


@app.route("/health", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def health_summary() -> Response:
    return health.health()


@app.route("/health/live", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def health_live() -> Response:
    return health.live()


@app.route("/health/ready", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def health_ready() -> Response:
    return health.ready(current_request())


@app.route("/health/detailed", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def health_detailed() -> Response:
    return health.detailed(current_request())


@app.route("/metrics", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def prometheus_metrics() -> Response:
    return prometheus.metrics_response(current_request())


@app.route("/openapi.json", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def openapi_document() -> Response:
    return openapi.document_response(current_request())


@app.route("/docs", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def api_docs() -> Response:
    return openapi.docs_response()


@app.on_sqs_message(
    queue=worker_queue_name(),
    batch_size=resources.APPLICATIONS_QUEUE.batch_size,
    maximum_batching_window_in_seconds=resources.APPLICATIONS_QUEUE.batching_window_seconds,
    maximum_concurrency=worker_maximum_concurrency(),
)
def process_application_queue(event: SQSEvent) -> dict:
    """SQS worker; see chalicelib/api/worker.py for how the local poller invokes it."""
    return worker.process_batch(event.to_dict(), event.context)


# Last: the edge (gateway emulation in the local stage, CORS, security headers) wraps every route.
install_edge(app)
