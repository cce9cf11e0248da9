"""`studio models download REPO_ID|ID [--file F] [--to DIR]`: fetch a model from the hub."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.units import format_bytes


def add_command(actions) -> None:
    """Register `download` on the `studio models` subparsers."""
    dl = actions.add_parser(
        "download",
        help="download from the Hugging Face Hub (resumable; checksums verified)",
        description="Download a model from the Hugging Face Hub into the models folder. "
        "REPO is a repo id (owner/name) or the id of a recommended model (see --list). "
        "Interrupted downloads continue where they stopped when you run the same command again. "
        "The hub address comes from HF_ENDPOINT (default huggingface.co).",
    )
    dl.add_argument("repo", nargs="?", help="owner/name, or a recommended id such as sd-turbo")
    dl.add_argument("--file", default=None, help="only this file of the repo")
    dl.add_argument(
        "--include",
        action="append",
        default=None,
        metavar="PATTERN",
        help="only files matching (repeatable; default: the recommended set or all)",
    )
    dl.add_argument("--revision", default=None, help="branch, tag or commit (default main)")
    dl.add_argument("--to", type=Path, default=None, help="default: the user models folder")
    dl.add_argument("--list", action="store_true", help="show the recommended models")
    dl.add_argument(
        "--dry-run",
        action="store_true",
        help="only print the files (size, sha256, URL, where each goes)",
    )
    dl.add_argument("--quiet", action="store_true", help="no progress line on stderr")


def run(args: argparse.Namespace) -> int:
    from studio.engine.hub import download as hub
    from studio.engine.hub.transfer import describe
    from studio.errors import StudioError
    from studio.io.paths import user_models_dir

    recommended = {r.id: r for r in hub.load_recommended()}
    if args.list or not args.repo:
        for r in recommended.values():
            print(f"{r.id}\t{r.repo_id}\t~{format_bytes(r.approx_bytes)}\t{r.licence}")
        return 0 if args.list else _fail("give a repo id (owner/name) or a recommended id")
    dest = args.to or user_models_dir()
    pick = recommended.get(args.repo)
    repo_id = pick.repo_id if pick else args.repo
    patterns = args.include or list(pick.patterns if pick else hub.ANY_REPO_PATTERNS)
    try:
        plan = hub.plan_download(
            repo_id, revision=args.revision, allow_patterns=patterns, filename=args.file
        )
        print(
            f"{repo_id}: {len(plan.files)} files, {format_bytes(plan.total_bytes)} -> "
            f"{dest / plan.name}",
            file=sys.stderr,
        )
        if pick:
            print(f"licence: {pick.licence_note}", file=sys.stderr)
        if args.dry_run:
            _print_manifest(plan, dest)
            return 0
        line = _ProgressLine(describe, quiet=args.quiet)
        path = hub.download(plan, dest, on_progress=line)
        line.end()
    except KeyboardInterrupt:
        print("\nstopped; run the same command again to continue the download", file=sys.stderr)
        return 130
    except StudioError as exc:
        print(file=sys.stderr)
        if exc.details:
            print(f"  details: {exc.details}", file=sys.stderr)
        return _fail(exc.message)
    print(f"installed {path}")
    return 0


def _print_manifest(plan, dest: Path) -> None:
    """Everything needed to fetch the files by hand: size, checksum, URL, target."""
    from huggingface_hub import hf_hub_url

    root = dest / plan.name if plan.layout == "folder" else dest
    for f in plan.files:
        url = hf_hub_url(plan.repo_id, f.path, revision=plan.commit, endpoint=plan.endpoint)
        check = f"sha256 {f.sha256}" if f.sha256 else f"git-blob {f.blob_id}"
        print(f"{f.size}\t{check}\t{url}\t{root / f.local}")


class _ProgressLine:
    """Rewrites one stderr line (at most ~10 times a second, as the engine reports)."""

    def __init__(self, describe, quiet: bool) -> None:
        self._describe, self._quiet, self._width = describe, quiet, 0

    def __call__(self, progress) -> None:
        if self._quiet:
            return
        text = self._describe(progress)
        sys.stderr.write("\r" + text.ljust(self._width))
        sys.stderr.flush()
        self._width = len(text)

    def end(self) -> None:
        if not self._quiet and self._width:
            sys.stderr.write("\n")


def _fail(message: str) -> int:
    print(f"studio: error: {message}", file=sys.stderr)
    return 2
