"""Failover benchmark: real sandboxes, real faults, client-visible outage.

    python3 bench/failover.py [--runs 5] [--quick] [--out bench/results]

Every scenario (kill-m1, kill-m2, freeze-m1, blip-m1) at every setting (classic: interval 5 s, 5
failures; fast: 1 s, 3 failures, rechecks every 0.2 s), ``--runs`` times (kill-m1 fast ``--kill-runs``
times), each in a fresh sandbox; the floors of each phase first; then the daemon's overhead and a
switchover. Writes OUT/results.md, OUT/results.json and OUT/timeline-<scenario>-<setting>.png.
The blip is run at the fast setting only (at the classic one it takes 20 s of freeze per run).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import floors, overhead, plot, report, switchover
from bench.metrics import summarize
from bench.runs import SCENARIOS, SETTINGS, Run, Scenario, Setting, nothing, run_once
from bench.sandboxes import Lab

PREPARE_DURING = 10.0  # seconds of expected detection (interval x failures) long enough to build the next sandbox


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per scenario and setting (default 5)")
    parser.add_argument("--kill-runs", type=int, default=20, help="runs of kill-m1 at the fast setting (20)")
    parser.add_argument("--quick", action="store_true", help="one run of kill-m1 at the fast setting, nothing else")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="where the results go")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated subset")
    parser.add_argument("--no-overhead", action="store_true", help="skip the overhead and switchover measurements")
    parser.add_argument("--overhead-seconds", type=float, default=60.0, help="how long to watch the daemon (60)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.scenarios, args.settings, args.no_overhead = 1, "kill-m1", "fast", True
        args.kill_runs = 1
    for name in args.scenarios.split(","):
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; expected some of {', '.join(SCENARIOS)}")
    for name in args.settings.split(","):
        if name not in SETTINGS:
            parser.error(f"unknown setting {name!r}; expected some of {', '.join(SETTINGS)}")
    return args


PRINTING = threading.Lock()


def say(line: str) -> None:
    """Print one whole line at once: the overhead thread prints too."""
    with PRINTING:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def cell(
    scenario: Scenario,
    setting: Setting,
    runs: int,
    lab: Lab,
    out: Path,
    draw: bool,
    following: tuple[Scenario, Setting] | None,
) -> dict[str, Any]:
    """``runs`` runs of one scenario at one setting; the first one's timeline picture.

    While a run waits out a long detection (default setting: ~20-25 s), the next run's sandbox
    (``following`` after the last run) is built in the background.
    """
    numbers, errors = [], []
    for index in range(runs):
        upcoming = (scenario, setting) if index + 1 < runs else following
        prepare = nothing
        if upcoming is not None and setting.window >= PREPARE_DURING:
            prepare = partial(lab.prepare, upcoming[1], upcoming[0].semi_sync_ms)
        tag = f"[{scenario.name}/{setting.name} run {index + 1}/{runs}]"
        say(f"{tag} {scenario.what}; {describe(setting)}")
        lab.log = lambda line, tag=tag: say(f"{tag} {line}")
        started = time.monotonic()
        try:
            run = run_once(scenario, setting, lab, prepare)
        except Exception as exc:  # noqa: BLE001 - one broken run is reported; the others still run
            errors.append(f"{type(exc).__name__}: {exc}")
            say(f"{tag} FAILED after {time.monotonic() - started:.0f} s: {errors[-1]}")
            continue
        numbers.append(run.numbers)
        say(f"{tag} {report.run_line(run.numbers)} ({time.monotonic() - started:.0f} s)")
        if draw and index == 0 and run.events is not None:
            draw_timeline(run, scenario, setting, out)
    return {"runs": numbers, "errors": errors, "summary": summarize(numbers)}


def describe(setting: Setting) -> str:
    recheck = f", rechecks every {setting.recheck:g} s" if setting.recheck else ""
    return f"interval {setting.interval:g} s, failures {setting.failures}{recheck} (window {setting.window:g} s)"


def draw_timeline(run: Run, scenario: Scenario, setting: Setting, out: Path) -> None:
    assert run.events is not None
    path = out / f"timeline-{scenario.name}-{setting.name}.png"
    title = f"{scenario.name} ({scenario.what}), {setting.name}: {describe(setting)}"
    plot.timeline(path, title, run.events.writes, run.events.reads, run.marks, run.names, run.events.fault)
    say(f"  timeline: {path}")


class Watch(threading.Thread):
    """The daemon's overhead, measured in a sandbox of its own (interval 1 s, failures 5) while the failover
    runs go on: CPU time, memory and connections are the daemon's own, whatever else the machine does. The
    same sandbox then hosts the switchover measurement, once the failover runs are over."""

    def __init__(self, lab: Lab, seconds: float) -> None:
        super().__init__(daemon=True)
        self.lab, self.seconds = lab, seconds
        self.result: dict[str, Any] | None = None
        self.switchover: dict[str, Any] = {"measured": False, "note": "not measured"}
        self.go_on = threading.Event()  # set when the failover runs are over
        self.measure_switchover = False
        self.aborted = threading.Event()

    def run(self) -> None:
        say(f"[overhead] own sandbox at interval 1 s, failures 5; watching its daemon for {self.seconds:g} s")
        try:
            with self.lab.sandbox(Setting("overhead", 1.0, 5)) as box:
                self.result = overhead.measure(box, self.seconds, self.aborted.wait)
                say(f"[overhead] {report.overhead_table(self.result).splitlines()[-1]}")
                self.go_on.wait()
                if not self.measure_switchover:
                    return
                say("[switchover] python -m ha switchover under write load")
                self.switchover = switchover.measure(box)
        except Exception as exc:  # noqa: BLE001 - reported in the results; the failover numbers still stand
            say(f"[overhead/switchover] FAILED: {type(exc).__name__}: {exc}")
            self.switchover = {"measured": False, "note": f"not measured: {type(exc).__name__}: {exc}"}
        say(f"[switchover] {report.switchover_line(self.switchover)}")

    def finish(self, measure_switchover: bool) -> None:
        """Let the thread go on to the switchover (or not), and wait until its sandbox is down."""
        self.measure_switchover = measure_switchover
        if not measure_switchover:
            self.aborted.set()
        self.go_on.set()
        if self.is_alive():
            self.join()
        self.lab.close()


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    draw = plot.available()
    if not draw:
        say("matplotlib is not installed: no timeline pictures (pip install matplotlib)")
    data: dict[str, Any] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join(["python3", "bench/failover.py", *(sys.argv[1:] if argv is None else argv)]),
        "settings": {name: {**vars(setting), "window": setting.window} for name, setting in SETTINGS.items()},
        "results": {},
    }
    lab = Lab(say)
    watch = Watch(Lab(say), args.overhead_seconds)
    data["floors"] = floors.measure(say)
    try:
        if not args.no_overhead:
            watch.start()
        plan = [
            (SCENARIOS[s], SETTINGS[t])
            for s in args.scenarios.split(",")
            for t in args.settings.split(",")
            if not (s == "blip-m1" and t == "classic")
        ]
        for index, (scenario, setting) in enumerate(plan):
            following = plan[index + 1] if index + 1 < len(plan) else None
            runs = args.kill_runs if (scenario.name, setting.name) == ("kill-m1", "fast") else args.runs
            result = cell(scenario, setting, runs, lab, out, draw, following)
            data["results"].setdefault(scenario.name, {})[setting.name] = result
        lab.settle()
        if not args.no_overhead:
            watch.finish(measure_switchover=True)
            data["overhead"], data["switchover"] = watch.result, watch.switchover
    finally:
        watch.finish(measure_switchover=False)
        lab.close()
    data["duration_seconds"] = time.monotonic() - started
    text = report.markdown(data)
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    say("")
    say(text)
    say(f"written: {out / 'results.md'}, {out / 'results.json'} ({data['duration_seconds']:.0f} s in all)")
    failed = any(c["errors"] for by_setting in data["results"].values() for c in by_setting.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
