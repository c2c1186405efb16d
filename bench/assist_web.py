"""Benchmark the coding screen's assistant panel on a stored project: what it adds to a view, and what runs behind.

A SQLite project of generated answers (default 50,000; ``--quick``: 5,000), a tenth of them coded by three
coders (imported, so visible to everyone), the rest to code. Measured in the same run:

- floor: the coding-screen view with the panel switched off (its template function returns an empty panel);
- the same view with the panel (suggestions, similar units with the codes the reviewer may see);
- the background update the first view queues: index build and one reviewer's suggester fit.

Run ``python bench/assist_web.py [--quick] [--views N]``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from coding.assist.synthetic import make_dataset  # noqa: E402
from surveyapp import db  # noqa: E402
from surveyapp.auth.models import create_user  # noqa: E402
from surveyapp.coding_web import assist_routes  # noqa: E402
from surveyapp.coding_web.assist import service  # noqa: E402

from conftest import csrf_from, make_test_app  # noqa: E402

EMAIL, PASSWORD = "bench@example.org", "correct horse battery"


def _percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    """Build the project, time the views with and without the panel, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 answers instead of 50,000")
    parser.add_argument("--views", type=int, default=100, help="coding-screen views per measure")
    args = parser.parse_args()
    n_units = 5_000 if args.quick else 50_000
    n_coded = n_units // 10
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        app = make_test_app(f"sqlite:///{tmp / 'bench.sqlite3'}", tmp)
        data = make_dataset(n_coded, n_coders=3, error_rate=0.1, uncoded=n_units - n_coded, seed=7)
        sheet = tmp / "answers.csv"
        with sheet.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["unit", "text", "coder", "codes"])
            for unit, text in data.units.items():
                for coder, codes in data.codings.get(unit, {"": frozenset()}).items():
                    out.writerow([unit, text, coder, "; ".join(sorted(codes))])
        began = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["coding", "import", "bench", str(sheet)])
        assert result.exit_code == 0, result.output
        print(f"import {n_units:,} answers ({n_coded:,} coded by 3 coders): {time.perf_counter() - began:.1f} s")
        with app.app_context(), db.new_session() as s:
            create_user(s, EMAIL, PASSWORD, "Bench")
            s.commit()
        client = app.test_client()
        page = client.get("/auth/login")
        client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": EMAIL, "password": PASSWORD})
        # Uncoded units, in the open round: the panel shows suggestions and similar units for each.
        urls = [f"/coding/bench/code?filter=uncoded&pos={n_coded + i * 37 % (n_units - n_coded)}"
                for i in range(args.views)]

        began = time.perf_counter()
        assert client.get(urls[0]).status_code == 200
        first_view = time.perf_counter() - began
        began = time.perf_counter()
        assert service(app).wait(600)
        background = time.perf_counter() - began

        def views() -> tuple[float, float]:
            times = []
            for url in urls:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
            return _percentiles(times)

        real = assist_routes.coding_assist

        def empty(*_args: Any) -> dict[str, Any]:
            return {"settings": assist_routes.Settings(1.0, "consensus"), "target_label": "", "suggestions": [],
                    "similar": [], "error": None, "revealed": True, "status": None, "MODEL": "", "CODEBOOK": ""}

        assist_routes.coding_assist = empty  # type: ignore[assignment]
        floor = views()
        assist_routes.coding_assist = real
        panel = views()
        page = client.get(urls[1]).text
        assert "assist-accept" in page and "Similar units already coded" in page and "shared words" in page
        assert service(app).wait(600)
        app.extensions["surveykit.engine"].dispose()

    print(f"\nCoding screen, {n_units:,} answers, {args.views} views of uncoded units (SQLite)")
    print(f"  {'':<38}{'median ms':>10}{'p95 ms':>10}{'ratio':>8}")
    print(f"  {'floor: view without the panel':<38}{floor[0]:>10.1f}{floor[1]:>10.1f}{1:>8.2f}")
    print(f"  {'view with suggestions + similar units':<38}{panel[0]:>10.1f}{panel[1]:>10.1f}"
          f"{panel[0] / floor[0]:>8.2f}")
    print(f"  first view (queues the background update): {first_view * 1000:.0f} ms")
    print(f"  background update (index {n_units:,} answers, fit one reviewer's suggester): {background:.1f} s")


if __name__ == "__main__":
    main()
