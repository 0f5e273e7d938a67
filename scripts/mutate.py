#!/usr/bin/env python3
"""Mutation check (on demand, not in CI): do the tests notice small deliberate bugs?

Applies each mutant of a list (scripts/mutants.txt: flipped comparisons, off-by-one, removed
checks, swapped constants) one at a time to a scratch copy of the working tree, builds only the
test binaries the mutant names, runs them, and reports which mutants were killed (a test failed
or crashed) and which survived. The source tree itself is never modified.

    scripts/mutate.py                  every mutant in scripts/mutants.txt
    scripts/mutate.py json- yaml-      only mutants whose id starts with one of these
    scripts/mutate.py --list           list the mutants

Environment: MUTATE_DIR (scratch copy, default build-mutate/ in the repository, git-ignored;
kept between runs so ccache and the build tree make reruns quick), JOBS (default 2).
The scratch build is Release with ccache; the baseline (no mutant) must pass first.
Results: a table on stdout and in $MUTATE_DIR/report.txt; exit status 0 when all ran.
docs/testing.md has the list format, the last result and the accepted survivors.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path(os.environ.get("MUTATE_DIR", ROOT / "build-mutate"))
SRC = SCRATCH / "src"
BUILD = SRC / "build"  # inside the copy, as build/ is in the repository: same relative paths for ccache
JOBS = os.environ.get("JOBS", "2")
TEST_TIMEOUT = 900


@dataclass
class Mutant:
    id: str
    path: str
    tests: list  # "test_x" or "test_x:gtest_filter"
    old: str = ""
    new: str = ""
    note: str = ""
    result: str = ""
    detail: str = ""
    seconds: float = 0.0


def parse_mutants(text):
    """Blocks of: "[id] path test..." / optional "# note" / "- old line" / "+ new line"."""
    out, cur = [], None
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        if not line.strip() or (line.startswith("#") and cur is None):
            continue
        m = re.match(r"^\[([\w.-]+)\]\s+(\S+)\s+(.+)$", line)
        if m:
            cur = Mutant(m.group(1), m.group(2), m.group(3).split())
            out.append(cur)
        elif cur is None:
            raise SystemExit(f"mutants.txt: text before the first [id] line: {line!r}")
        elif line.startswith("#"):
            if cur.old:  # a comment after the mutant's lines starts a new section
                continue
            cur.note = (cur.note + " " + line[1:].strip()).strip()
        elif line.startswith("- "):
            cur.old = line[2:]
        elif line.startswith("+ "):
            cur.new = line[2:]
        elif line == "+":
            cur.new = ""
        else:
            raise SystemExit(f"mutants.txt: [{cur.id}]: unexpected line {line!r}")
    for mu in out:
        if not mu.old:
            raise SystemExit(f"mutants.txt: [{mu.id}] has no '- ' line")
    return out


def run(cmd, cwd, timeout=None, log=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", timeout=timeout)
    if log is not None:
        log.write(f"$ {' '.join(map(str, cmd))}\n{p.stdout}\n")
    return p.returncode, p.stdout


def sync_copy():
    """Copies the working tree (tracked and untracked files, not build dirs) into SRC."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           stdout=subprocess.PIPE, check=True).stdout.decode().split("\0")
    SRC.mkdir(parents=True, exist_ok=True)
    for f in filter(None, files):
        s, d = ROOT / f, SRC / f
        if not s.is_file():
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        if not d.exists() or d.read_bytes() != s.read_bytes():
            shutil.copy2(s, d)


def configure(log):
    env_args = ["-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache", "-DROWCAST_BUILD_BENCH=OFF"]
    rc, out = run(["cmake", "-S", ".", "-B", "build", *env_args], SRC, log=log)
    if rc != 0:
        raise SystemExit("mutate: configuring the scratch copy failed:\n" + out[-3000:])


def build_and_test(tests, log):
    """Returns (status, detail): status 'pass', 'fail' (a test failed or crashed) or 'nobuild'."""
    targets = sorted({t.split(":", 1)[0] for t in tests})
    rc, out = run(["cmake", "--build", "build", "-j", JOBS, "--target", *targets], SRC, log=log)
    if rc != 0:
        first = next((l for l in out.splitlines() if "error" in l), "build failed")
        return "nobuild", first.strip()[:160]
    for t in tests:
        name, _, filt = t.partition(":")
        exe = BUILD / "tests" / name
        cmd = [str(exe), "--gtest_brief=1"] + ([f"--gtest_filter={filt}"] if filt else [])
        try:
            rc, out = run(cmd, BUILD / "tests", timeout=TEST_TIMEOUT, log=log)
        except subprocess.TimeoutExpired:
            return "fail", f"{t}: timed out after {TEST_TIMEOUT} s"
        if rc != 0:
            failed = re.findall(r"^\[  FAILED  \] (\S+)", out, re.M)
            return "fail", f"{t}: " + (", ".join(sorted(set(failed))[:3]) if failed else f"exit {rc}")
    return "pass", ""


def main(argv):
    mutants = parse_mutants((ROOT / "scripts" / "mutants.txt").read_text())
    if "--list" in argv:
        for mu in mutants:
            print(f"{mu.id:28} {mu.path}  [{' '.join(mu.tests)}]  {mu.note}")
        return 0
    prefixes = [a for a in argv if not a.startswith("-")]
    if prefixes:
        mutants = [mu for mu in mutants if any(mu.id.startswith(p) for p in prefixes)]
    os.environ.setdefault("CCACHE_BASEDIR", str(ROOT.parent))
    SCRATCH.mkdir(parents=True, exist_ok=True)
    with open(SCRATCH / "mutate.log", "w") as log:
        sync_copy()
        configure(log)
        # Every mutant must apply exactly once to the unmodified source.
        for mu in mutants:
            n = (ROOT / mu.path).read_text().count(mu.old)
            if n != 1:
                raise SystemExit(f"mutate: [{mu.id}]: the '- ' text occurs {n} times in {mu.path} (must be once)")
        baseline = sorted({t for mu in mutants for t in mu.tests})
        print(f"mutate: baseline build and run of {' '.join(baseline)}", flush=True)
        status, detail = build_and_test(baseline, log)
        if status != "pass":
            raise SystemExit(f"mutate: the unmutated tests do not pass ({status}: {detail}); see {SCRATCH}/mutate.log")
        for i, mu in enumerate(mutants, 1):
            target = SRC / mu.path
            original = (ROOT / mu.path).read_text()
            start = time.monotonic()
            try:
                target.write_text(original.replace(mu.old, mu.new, 1))
                status, mu.detail = build_and_test(mu.tests, log)
            finally:
                target.write_text(original)
                os.utime(target)  # rebuilt from the original next time (ccache makes it cheap)
            mu.seconds = time.monotonic() - start
            mu.result = {"pass": "SURVIVED", "fail": "killed", "nobuild": "no-build"}[status]
            print(f"[{i}/{len(mutants)}] {mu.result:9} {mu.id:28} {mu.seconds:5.0f}s  {mu.detail}", flush=True)
    valid = [mu for mu in mutants if mu.result != "no-build"]
    killed = [mu for mu in valid if mu.result == "killed"]
    lines = [f"{'result':9} {'mutant':28} {'file':52} note / what killed it"]
    for mu in mutants:
        lines.append(f"{mu.result:9} {mu.id:28} {mu.path:52} {mu.detail if mu.result == 'killed' else mu.note}")
    pct = 100.0 * len(killed) / len(valid) if valid else 0.0
    lines.append(f"\n{len(killed)} of {len(valid)} mutants killed ({pct:.0f} %); "
                 f"{len(mutants) - len(valid)} did not compile (not counted)")
    report = "\n".join(lines)
    (SCRATCH / "report.txt").write_text(report + "\n")
    print("\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
