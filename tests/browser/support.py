"""Shared pieces of the browser tests: Chromium flags, the built client, axe-core, artifacts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web_client"
DIST = WEB / "dist"
ARTIFACTS = ROOT / "artifacts" / "browser"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"

# /work/shared/WEBRTC-TESTING.md: every packet stays on loopback, no look-ups, no mDNS.
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
    "--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints,Translate",
]
# Permission prompts answered "allow" (the usual case) ...
GRANTING_ARGS = [*BASE_ARGS, "--use-fake-ui-for-media-stream"]
# ... or refused, as when a person clicks "Block" (a real refusal by the browser, not a stub).
DENYING_ARGS = [*BASE_ARGS, "--deny-permission-prompts"]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


def _newest_source_mtime() -> float:
    paths = [
        WEB / "index.html",
        WEB / "coordinator.html",
        WEB / "questionnaires.html",
        WEB / "outcomes.html",
        WEB / "attendance.html",
        WEB / "pathways.html",
        WEB / "vite.config.ts",
        WEB / "package.json",
    ]
    paths += [p for p in (WEB / "src").rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in paths if p.exists())


def ensure_built() -> Path:
    """Build web_client/dist when it is missing or older than its sources (npm ci if needed)."""
    index = DIST / "index.html"
    if index.exists() and index.stat().st_mtime >= _newest_source_mtime() and AXE.exists():
        return DIST
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to build web_client (see docs/web_client.md)")
    env = dict(os.environ)
    if not (WEB / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, env=env)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True, env=env)
    return DIST


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe-core (from node_modules, never a CDN) and return serious/critical violations."""
    # Evaluated, not added as a <script> tag: the page's Content-Security-Policy refuses inline
    # scripts (as it should), and the DevTools protocol's evaluation is not subject to it.
    page.evaluate("(src) => { (0, eval)(src); }", AXE.read_text())
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
              runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
              resultTypes: ["violations"],
            });
            return r.violations.map(v => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
            }));
        }"""
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(result, indent=2))
    return [v for v in result if v["impact"] in ("serious", "critical")]
