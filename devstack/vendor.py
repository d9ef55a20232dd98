"""``make vendor``: copy the pinned front-end packages from the npm registry into the static folders.

The API serves ``/docs`` (Swagger UI) and ``/console`` (the loan-officer console, with Chart.js)
from ``chalicelib/http/static/``. Nothing is fetched from a CDN at run time, so the few files the
pages need are committed; this script is the only way they change: it ``npm pack``s each pinned
package, checks the tarball against the registry's integrity, copies exactly the listed files
byte for byte and rewrites ``chalicelib/http/static/vendor-manifest.json`` (version, tarball
integrity, sha256 of every copied file). ``tests/unit/http/test_static_vendor.py`` checks the
committed files against that manifest, so an edited vendored file fails the tests.

To upgrade: change the version in ``PINS`` and run ``make vendor``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from devstack.processes import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "chalicelib" / "http" / "static"
MANIFEST_PATH = STATIC_DIR / "vendor-manifest.json"


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    # Path inside the package's tarball (under ``package/``) -> path under STATIC_DIR.
    files: dict[str, str]


PINS: tuple[Pin, ...] = (
    Pin(
        "swagger-ui-dist",
        "5.35.0",
        {
            # The base layout needs only the bundle and its CSS (the standalone preset adds a top
            # bar with a URL box this page does not want, and 260 KB).
            "swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
            "swagger-ui.css": "swagger-ui/swagger-ui.css",
            "LICENSE": "swagger-ui/LICENSE",
            "NOTICE": "swagger-ui/NOTICE",
        },
    ),
    Pin(
        "chart.js",
        "4.6.1",
        {
            "dist/chart.umd.min.js": "console/chart.umd.min.js",
            "LICENSE.md": "console/chart.js-LICENSE.md",
        },
    ),
)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pack(pin: Pin, into: Path) -> tuple[Path, str]:
    """The package's tarball from the registry and its integrity (as npm verified it)."""
    output = subprocess.run(
        ["npm", "pack", f"{pin.package}@{pin.version}", "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (packed,) = json.loads(output)
    if packed["version"] != pin.version:
        raise SystemExit(f"{pin.package}: npm packed {packed['version']}, pinned {pin.version}")
    return into / packed["filename"], packed["integrity"]


class VendoredPackage(TypedDict):
    """One package's entry in the manifest: what was packed, and the sha256 of every file copied."""

    version: str
    integrity: str  # as npm verified the tarball
    files: dict[str, str]  # path under static/ -> sha256


def vendor(static_dir: Path = STATIC_DIR) -> dict[str, VendoredPackage]:
    manifest: dict[str, VendoredPackage] = {}
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        for pin in PINS:
            tarball, integrity = npm_pack(pin, work)
            unpacked = work / pin.package
            with tarfile.open(tarball) as archive:
                archive.extractall(unpacked, filter="data")
            files: dict[str, str] = {}
            for source, target in pin.files.items():
                destination = static_dir / target
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(unpacked / "package" / source, destination)
                files[target] = sha256_of(destination)
            manifest[pin.package] = {"version": pin.version, "integrity": integrity, "files": files}
    MANIFEST_PATH.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main() -> int:
    for package, entry in vendor().items():
        print(f"{package}@{entry['version']}: {len(entry['files'])} file(s) -> {STATIC_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
