"""A1111 prompt syntax: the parser against a table of A1111's own results, in linear time."""

from __future__ import annotations

import time

import pytest

from studio.engine.diffusion.prompt_syntax import parse, split_break, uses_syntax

# (prompt, A1111 parse_prompt_attention's result); the first five are A1111's own doc examples
A1111_TABLE = [
    ("normal text", [("normal text", 1.0)]),
    ("an (important) word", [("an ", 1.0), ("important", 1.1), (" word", 1.0)]),
    ("(unbalanced", [("unbalanced", 1.1)]),
    ("\\(literal\\]", [("(literal]", 1.0)]),
    ("(unnecessary)(parens)", [("unnecessaryparens", 1.1)]),
    (
        "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
        [
            ("a ", 1.0),
            ("house", 1.5730000000000004),
            (" ", 1.1),
            ("on", 1.0),
            (" a ", 1.1),
            ("hill", 0.55),
            (", sun, ", 1.1),
            ("sky", 1.4641000000000006),
            (".", 1.1),
        ],
    ),
    ("(word:1.3)", [("word", 1.3)]),
    ("(word : 0.7 )", [("word ", 0.7)]),
    ("[word]", [("word", 1 / 1.1)]),
    ("[[word]]", [("word", 1 / 1.1 / 1.1)]),
    ("((word))", [("word", 1.1 * 1.1)]),
    ("[(word:1.5)]", [("word", 1.5 / 1.1)]),
    ("(a:0) b", [("a", 0.0), (" b", 1.0)]),
    ("(a:-1) b", [("a", -1.0), (" b", 1.0)]),
    ("(a:+2)", [("a", 2.0)]),
    ("a (b [c] d) e", [("a ", 1.0), ("b ", 1.1), ("c", 1.0), (" d", 1.1), (" e", 1.0)]),
    ("word:1.3", [("word:1.3", 1.0)]),  # a colon outside brackets is text
    ("a: 1.2) b", [("a: 1.2) b", 1.0)]),  # a weight with no bracket open: text
    ("time: 10:30", [("time: 10:30", 1.0)]),
    ("smile :)", [("smile :)", 1.0)]),
    ("a ) b ] c", [("a ) b ] c", 1.0)]),  # closers with nothing open are text
    ("\\\\ backslash", [("\\ backslash", 1.0)]),
    ("\\x", [("x", 1.0)]),  # a lone backslash disappears
    ("", [("", 1.0)]),
    ("a BREAK b", [("a", 1.0), ("BREAK", -1.0), ("b", 1.0)]),
    ("a\nBREAK\nb", [("a", 1.0), ("BREAK", -1.0), ("b", 1.0)]),
    ("a BREAKING b", [("a BREAKING b", 1.0)]),
    ("a break b", [("a break b", 1.0)]),
    ("(a BREAK b:1.2)", [("a", 1.2), ("BREAK", -1.0), ("b", 1.2)]),
]


@pytest.mark.parametrize(("prompt", "expected"), A1111_TABLE)
def test_parse_matches_a1111(prompt, expected):
    got = parse(prompt)
    assert [text for text, _ in got] == [text for text, _ in expected]
    assert [w for _, w in got] == pytest.approx([w for _, w in expected], rel=1e-12)


def test_split_break_keeps_words_that_contain_it():
    assert split_break("xBREAK BREAKy BREAK_ z") == ["xBREAK BREAKy BREAK_ z"]
    assert split_break("  BREAK  ") == ["", ""]
    assert split_break("a, BREAK, b") == ["a,", ", b"]


def test_uses_syntax_only_for_what_a1111_reads_differently():
    assert not uses_syntax("a red barn, oil on canvas: 1.2")
    assert uses_syntax("a (red) barn") and uses_syntax("a [red]") and uses_syntax("x BREAK y")
    assert uses_syntax("a \\ b")


def test_absurd_nesting_is_capped_not_infinite():
    assert parse("(" * 5000 + "a")[0] == ("a", 1000.0)
    assert parse("[" * 5000 + "a")[0] == ("a", 0.001)


HOSTILE = [
    lambda n: "(a" * n + ")" * n,  # nested ranges: naive range multiplication is quadratic
    lambda n: ": " * n,  # colons that never become a weight
    lambda n: ":" + " " * n + "1" * n,  # a long weight that never closes
    lambda n: " " * n + "xBREAK",  # spaces before a BREAK that is not one
    lambda n: "(a:1.1" * n,
]


@pytest.mark.parametrize("make", HOSTILE)
def test_parse_is_linear_on_hostile_text(make):
    def seconds(n: int) -> float:
        text = make(n)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            parse(text)
            best = min(best, time.perf_counter() - started)
        return best

    small, large = seconds(2_000), seconds(16_000)
    # 8x the text: about 8x the time when linear, 64x when quadratic
    assert large / max(small, 1e-6) < 24, (small, large)
