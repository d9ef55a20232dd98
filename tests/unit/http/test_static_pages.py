"""The static pages (/docs, /console): served without a key with their real content types, only
files of their own folder, and the vendored files are byte for byte the ones ``make vendor`` wrote.

Whether those are the pinned npm packages' is checked where the registry is: ``make vendor`` packs
each pin with ``npm pack``, which verifies the tarball against the registry's integrity, and
``make vendor-check`` re-vendors and fails on any difference. No unit test needs the network."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from chalicelib.http import static_files
from devstack import vendor

MANIFEST = json.loads(vendor.MANIFEST_PATH.read_text())


def test_manifest_pins_exactly_the_vendor_script_pins() -> None:
    assert {pin.package: pin.version for pin in vendor.PINS} == {
        package: entry["version"] for package, entry in MANIFEST.items()
    }
    for pin in vendor.PINS:
        assert sorted(pin.files.values()) == sorted(MANIFEST[pin.package]["files"])


@pytest.mark.parametrize(
    ("target", "sha256"),
    [(target, sha) for entry in MANIFEST.values() for target, sha in entry["files"].items()],
)
def test_vendored_file_is_the_pinned_packages(target: str, sha256: str) -> None:
    # An edited (or re-minified) vendored file fails here: run `make vendor` instead.
    assert hashlib.sha256((vendor.STATIC_DIR / target).read_bytes()).hexdigest() == sha256


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/docs", "text/html"),
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-ui.css", "text/css"),
        ("/docs/docs-init.js", "text/javascript"),
        ("/console", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
        ("/console/chart.umd.min.js", "text/javascript"),
    ],
)
def test_static_files_are_served_with_their_type(chalice_client, path: str, content_type: str) -> None:
    response = chalice_client.http.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == content_type
    assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("name", ["nope.js", "..", "%2e%2e%2fapp.py", "vendor-manifest.json"])
def test_unknown_files_are_404_in_the_error_shape(chalice_client, name: str) -> None:
    response = chalice_client.http.get(f"/console/{name}")
    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"] == "not_found"


@pytest.mark.parametrize("page", [static_files.DOCS, static_files.CONSOLE])
def test_pages_reference_only_files_they_serve(page: static_files.StaticPage) -> None:
    html = (page.directory / static_files.INDEX).read_text()
    assert "<script>" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    prefix = "docs/" if page is static_files.DOCS else "console/"
    for reference in re.findall(r'(?:src|href)="([^"]+)"', html):
        if reference.startswith(prefix):
            assert reference.removeprefix(prefix) in static_files.served_names(page), reference
        else:
            assert "//" not in reference, f"{reference}: nothing from another site"


def test_make_run_prints_the_console_url() -> None:
    from devstack.run import banner
    from devstack.stack import DevStack, DevStackConfig

    stack = DevStack(DevStackConfig.on_free_ports())  # nothing started: the banner is text only
    assert f"  Console:         {stack.api_url}/console " in banner(stack)
