"""Regenerate the dashboard screenshots in docs/ (not a test): a real daemon, real runs, system Chromium.

Usage: .venv/bin/python tests/browser/screenshots.py
With issue 9's fake model server present, an LLM agent joins the evaluation so Compare shows tokens and cost.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import chromium_path  # noqa: E402
from tests.helpers import Daemon, eventually  # noqa: E402

DOCS = REPO / "docs"
LLM_AGENT = "openai:fake-model"


def fake_model(root: Path) -> Any:
    """The fake OpenAI-compatible server answering each benchmark with its scripted solution, if present."""
    try:
        import yaml

        from tests.fakes.openai_server import FakeOpenAI, by_turn, text
        from tests.runner.llm_scripts import SOLUTIONS
    except ImportError:
        return None
    prompts = {p.stem: yaml.safe_load(p.read_text())["prompt"].strip()[:60] for p in (root / "benchmarks").glob("*.yml")}
    solvers = {b: by_turn(s) for b, s in SOLUTIONS.items()}

    def pick(request: dict[str, Any]) -> Any:
        msgs = " ".join(str(m.get("content") or "") for m in request.get("messages", []) if isinstance(m, dict))
        for bench, prompt in prompts.items():
            # The fake model gets the SPL benchmarks wrong on purpose, so the matrix has colour.
            if prompt in msgs and bench in solvers and not bench.startswith(("003", "004", "009")):
                return solvers[bench](request)
        return text("I cannot do that.")

    return FakeOpenAI(pick, key="sk-screenshots-0000")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="reevd-shots-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp) / "root"
        shutil.copytree(REPO / "benchmarks", root / "benchmarks")
        fake = fake_model(root)
        env: dict[str, str] = {}
        agents = ["deterministic"]
        if fake is not None:
            stack.enter_context(fake)
            env = {"OPENAI_API_KEY": "sk-screenshots-0000", "OPENAI_BASE_URL": fake.base_url, "REEV_LLM_AGENTS": LLM_AGENT,
                   "REEV_LLM_PRICES": "fake-model=1.5/6", "REEV_LLM_MAX_RETRIES": "0"}
            agents.append(LLM_AGENT)
        d = Daemon(root=root, env=env).start()
        stack.callback(d.stop)
        benches = sorted(p.stem for p in (root / "benchmarks").glob("*.yml"))
        status, body = d.post("/evals", {"agents": agents, "benchmarks": "all", "epochs": 2})
        if status == 202:
            eval_id = body["eval_id"]
            eventually(lambda: d.get(f"/evals/{eval_id}")[1]["finished"] == body["runs"], timeout=300, message="evaluation")
        else:
            eval_id = None
            for _ in range(2):
                for b in benches:
                    d.post(f"/benchmarks/{b}/run", {"agent": "deterministic"})
            eventually(lambda: all(e["status"] not in ("Queued", "Running") for e in d.get("/executions?limit=100")[1]["executions"]),
                       timeout=120, message="runs")
        from urllib.parse import quote

        one = d.get(f"/executions?benchmark=006-sol-transfer-with-memo&agent={quote(agents[-1])}&limit=1")[1]["executions"][0]["execution_id"]

        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path())
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": 1360, "height": 860}, color_scheme=scheme, device_scale_factor=1)
                shots = [("runs", "#/runs", "runs"), ("execution", f"#/executions/{one}", "executions"),
                         ("compare", f"#/compare?eval={eval_id}" if eval_id else "#/compare", "compare"),
                         ("transcript", f"#/executions/{one}?tab=transcript", "executions"),
                         ("launch", "#/launch", "launch"), ("benchmarks", "#/benchmarks", "benchmarks"), ("health", "#/health", "health")]
                if scheme == "dark":
                    shots = shots[:3]
                for name, frag, view in shots:
                    page.goto(f"{d.url}/{frag}")
                    page.wait_for_selector(f"main[data-ready='{view}']", state="attached")
                    if view == "executions":
                        page.wait_for_selector(".card .badge.status-completed, .card .badge.status-failed")
                    if name == "transcript":
                        page.wait_for_selector("#panel-transcript .exchange, #panel-transcript p")
                    page.wait_for_timeout(300)  # let the last frame settle for the picture
                    out = DOCS / f"dashboard-{name}{'-dark' if scheme == 'dark' else ''}.png"
                    page.screenshot(path=str(out))
                    print("wrote", out.relative_to(REPO))
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
