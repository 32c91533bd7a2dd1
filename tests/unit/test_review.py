"""Static review: a candidate that wraps the failure in try/except and returns a constant is rejected."""

from __future__ import annotations

import ast
import builtins
from textwrap import dedent

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartworker.reasoning.review import dropped_call, hidden_error, ignored_input, lossy_codec, skipped_line

PATH = "payments/__init__.py"

PAYMENT = dedent('''\
    def payment_webhook(payment):
        amount_cents = payment["amount"]
        return {"amount": amount_cents / 100}
''')

SMS = dedent('''\
    def sms_inbound(raw):
        text = raw.decode("utf-8")
        return {"text": text}
''')


def _wrap(function: str, handler: str) -> str:
    """``function`` with its first statement inside ``try`` and ``handler`` after it."""
    head, first, *rest = function.splitlines()
    lines = [head, "    try:", "    " + first, *("    " + line for line in dedent(handler).splitlines()), *rest]
    return "\n".join(lines) + "\n"


def _payment_with(handler: str) -> dict[str, str]:
    return {PATH: _wrap(PAYMENT, handler)}


def test_default_on_key_error_is_flagged() -> None:
    reason = hidden_error({PATH: PAYMENT}, _payment_with('''\
        except KeyError:
            amount_cents = 0  # Default value if 'amount' key is missing
    '''), "KeyError")
    assert reason is not None
    assert "KeyError" in reason and "payment_webhook" in reason and "assigns a constant" in reason
    assert "\n" not in reason


def test_returning_the_error_as_data_is_flagged() -> None:
    changed = {PATH: _wrap(SMS, '''\
        except UnicodeDecodeError as e:
            print(f"UnicodeDecodeError: {e}")
            return {"error": str(e)}
    ''')}
    reason = hidden_error({PATH: SMS}, changed, "UnicodeDecodeError")
    assert reason is not None and "returns a constant" in reason and "sms_inbound" in reason


@pytest.mark.parametrize("handler", [
    '''\
    except KeyError:
        amount_cents = payment["amount_received"]
    ''',
    '''\
    except KeyError:
        amount_cents = convert(payment)
    ''',
])
def test_a_real_fallback_is_not_flagged(handler: str) -> None:
    assert hidden_error({PATH: PAYMENT}, _payment_with(handler), "KeyError") is None


def test_decoding_another_way_is_not_flagged() -> None:
    changed = {PATH: _wrap(SMS, '''\
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    ''')}
    assert hidden_error({PATH: SMS}, changed, "UnicodeDecodeError") is None


def test_a_handler_already_in_the_original_is_not_flagged() -> None:
    original = _payment_with('''\
        except KeyError:
            amount_cents = 0
    ''')[PATH]
    # The fix changes the code around the old handler and shifts its lines.
    changed = "import logging\n\n" + original.replace("/ 100", "/ 100.0")
    assert hidden_error({PATH: original}, {PATH: changed}, "KeyError") is None


def test_a_copy_of_an_existing_handler_is_still_new() -> None:
    handler = '''\
        except KeyError:
            amount_cents = 0
    '''
    original = _payment_with(handler)[PATH]
    changed = original + "\n\n" + _wrap(PAYMENT.replace("payment_webhook", "refund_webhook"), handler)
    reason = hidden_error({PATH: original}, {PATH: changed}, "KeyError")
    assert reason is not None and "refund_webhook" in reason


def test_an_unrelated_exception_type_is_not_flagged() -> None:
    changed = _payment_with('''\
        except ValueError:
            return None
    ''')
    assert hidden_error({PATH: PAYMENT}, changed, "KeyError") is None


@pytest.mark.parametrize("caught", ["except:", "except Exception:", "except BaseException as exc:",
                                    "except LookupError:", "except (ValueError, KeyError):",
                                    "except (KeyError, TypeError) as e:", "except builtins.KeyError:"])
def test_broad_base_and_tuple_handlers_are_flagged(caught: str) -> None:
    changed = _payment_with(f"{caught}\n    return None\n")
    reason = hidden_error({PATH: PAYMENT}, changed, "KeyError")
    assert reason is not None and "`" + caught.split(" as ")[0].rstrip(":") in reason


@pytest.mark.parametrize("handler", [
    "except KeyError:\n    raise\n",
    "except KeyError as exc:\n    log.error('bad payment')\n    raise ValueError('no amount') from exc\n",
    "except KeyError:\n    if strict:\n        raise\n    amount_cents = 0\n",
])
def test_a_handler_that_reraises_is_not_flagged(handler: str) -> None:
    assert hidden_error({PATH: PAYMENT}, _payment_with(handler), "KeyError") is None


@pytest.mark.parametrize("body", [
    "pass",
    "logger.warning('no amount: %s', e)\n    return",
    "self.log.exception('boom')\n    return -1",
    "warnings.warn(str(e))\n    amount_cents: int = 0",
    "return {'ok': False, 'error': f'{type(e).__name__}: {e}', 'codes': [1, (2, None)]}",
])
def test_inert_bodies_are_flagged(body: str) -> None:
    changed = _payment_with(f"except KeyError as e:\n    {body}\n")
    assert hidden_error({PATH: PAYMENT}, changed, "KeyError") is not None


def test_an_f_string_with_data_is_a_real_answer() -> None:
    changed = _payment_with("except KeyError:\n    return {'error': f'payment {payment[\"id\"]} has no amount'}\n")
    assert hidden_error({PATH: PAYMENT}, changed, "KeyError") is None


def test_dotted_types() -> None:
    source = dedent('''\
        import json

        def parse(raw):
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                return {}
    ''')
    assert hidden_error({}, {"a.py": source}, "json.decoder.JSONDecodeError") is not None
    assert hidden_error({}, {"a.py": source.replace("json.JSONDecodeError", "ValueError")},
                        "json.decoder.JSONDecodeError") is not None
    # A non-builtin name matches only itself.
    assert hidden_error({}, {"a.py": source.replace("json.JSONDecodeError", "yaml.YAMLError")},
                        "json.decoder.JSONDecodeError") is None
    assert hidden_error({}, {"a.py": source}, "KeyError") is None


def test_new_files_non_python_and_broken_sources_are_skipped() -> None:
    hiding = _payment_with("except KeyError:\n    pass\n")[PATH]
    assert hidden_error({}, {"new.py": hiding}, "KeyError") is not None  # a new file counts
    assert hidden_error({}, {"notes.txt": hiding}, "KeyError") is None
    assert hidden_error({PATH: "def broken(:\n"}, {PATH: hiding}, "KeyError") is None
    assert hidden_error({PATH: PAYMENT}, {PATH: hiding + "def broken(:\n"}, "KeyError") is None
    # With an unknown failure type only a catch-all is known to catch it.
    assert hidden_error({PATH: PAYMENT}, {PATH: hiding}, "") is None
    assert hidden_error({PATH: PAYMENT}, {PATH: hiding.replace("KeyError", "Exception")}, "") is not None


def test_module_level_handler_is_named_as_such() -> None:
    source = "try:\n    import ujson as json\nexcept ImportError:\n    json = None\n"
    reason = hidden_error({}, {"m.py": source}, "ImportError")
    assert reason is not None and "at module level" in reason


BUILTIN_EXCEPTIONS = sorted(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception)
)


@given(st.sampled_from(BUILTIN_EXCEPTIONS), st.sampled_from(["pass", "return None", "x = 0", "print(e)"]))
def test_except_exception_hides_every_builtin_error(failure: str, body: str) -> None:
    changed = _payment_with(f"except Exception as e:\n    {body}\n")
    reason = hidden_error({PATH: PAYMENT}, changed, failure)
    assert reason is not None and failure in reason


@given(st.sampled_from(BUILTIN_EXCEPTIONS), st.sampled_from(BUILTIN_EXCEPTIONS))
def test_a_builtin_handler_hides_exactly_its_subclasses(failure: str, caught: str) -> None:
    changed = _payment_with(f"except {caught}:\n    return None\n")
    flagged = hidden_error({PATH: PAYMENT}, changed, failure) is not None
    assert flagged == issubclass(getattr(builtins, failure), getattr(builtins, caught))


@given(st.sampled_from(["pass", "return None", "x = 0", "return {'error': str(e)}"]),
       st.sampled_from(["except:", "except Exception as e:", "except (KeyError, TypeError) as e:"]),
       st.sampled_from(BUILTIN_EXCEPTIONS))
def test_an_unchanged_handler_is_never_flagged(body: str, caught: str, failure: str) -> None:
    source = _payment_with(f"{caught}\n    {body}\n")[PATH]
    assert hidden_error({PATH: source}, {PATH: source}, failure) is None


# -- dropped steps ----------------------------------------------------------------------------------

INBOUND = dedent('''\
    import base64

    def inbound_sms(data):
        text = base64.b64decode(data["body_b64"]).strip()
        log.info("inbound", size=len(text))
        return {"text": text}
''')
INBOUND_PATH = "sms/__init__.py"


def test_a_fix_that_drops_a_method_call_is_named() -> None:
    # The recorded false fix: decoding made the job complete, and the padding stayed in the text.
    changed = INBOUND.replace(".strip()", ".decode()")
    reason = dropped_call({INBOUND_PATH: INBOUND}, {INBOUND_PATH: changed})
    assert reason is not None
    assert "`.strip()`" in reason and "inbound_sms" in reason and INBOUND_PATH in reason


@pytest.mark.parametrize("changed", [
    # the right fix keeps the call, in another place
    INBOUND.replace(".strip()", ".decode().strip()"),
    # a logger's call is not a step of the job
    INBOUND.replace('        log.info("inbound", size=len(text))\n', ""),
    # the function itself is gone (renamed or merged): nothing to compare it with
    INBOUND.replace("def inbound_sms(", "def inbound(", 1),
])
def test_kept_calls_removed_logging_and_removed_functions_pass(changed: str) -> None:
    assert dropped_call({INBOUND_PATH: INBOUND}, {INBOUND_PATH: changed}) is None


def test_two_calls_hoisted_into_one_pass() -> None:
    # shipping_label_line2's reference fix strips line2 once, into a variable, where the code did twice.
    before = dedent('''\
        def label(address):
            lines = [address["line1"]]
            if address["line2"].strip():
                lines.append(address["line2"].strip())
            return lines
    ''')
    after = dedent('''\
        def label(address):
            lines = [address["line1"]]
            line2 = (address.get("line2") or "").strip()
            if line2:
                lines.append(line2)
            return lines
    ''')
    assert dropped_call({"labels.py": before}, {"labels.py": after}) is None


def test_new_files_and_unreadable_code_are_left_to_other_checks() -> None:
    assert dropped_call({}, {INBOUND_PATH: INBOUND}) is None
    assert dropped_call({INBOUND_PATH: INBOUND}, {INBOUND_PATH: "def inbound_sms(:\n"}) is None
    assert dropped_call({"notes.txt": "a.strip()"}, {"notes.txt": ""}) is None


HISTOGRAM = dedent('''\
    def histogram(data):
        buckets = [0] * 10
        for score in data["scores"]:
            if not 0 <= score <= 100:
                raise ValueError(f"score out of range: {score}")
            buckets[score // 10] += 1
        return {"buckets": buckets, "count": len(data["scores"])}
''')
HISTOGRAM_PATH = "surveys/__init__.py"
FAILING = "buckets[score // 10] += 1"


@pytest.mark.parametrize(("skip", "how"), [
    # The recorded false fix: a score of 100 is left out of the histogram and the job completes.
    ("        if score != 100:\n            buckets[score // 10] += 1\n", "only when `score != 100`"),
    ("        if score == 100:\n            continue\n        buckets[score // 10] += 1\n", "skips"),
])
def test_a_fix_that_skips_the_failing_line_is_named(skip: str, how: str) -> None:
    changed = HISTOGRAM.replace("        buckets[score // 10] += 1\n", skip)
    reason = skipped_line({HISTOGRAM_PATH: HISTOGRAM}, {HISTOGRAM_PATH: changed}, FAILING)
    assert reason is not None
    assert f"`{FAILING}`" in reason and how in reason and HISTOGRAM_PATH in reason


@pytest.mark.parametrize(("changed", "failing"), [
    # the right fix: the line runs for every score, in one branch or the other
    (HISTOGRAM.replace("        buckets[score // 10] += 1\n",
                       "        if score == 100:\n            buckets[9] += 1\n"
                       "        else:\n            buckets[score // 10] += 1\n"), FAILING),
    (HISTOGRAM.replace("buckets[score // 10]", "buckets[min(score // 10, 9)]"), FAILING),
    # a failing `raise` is not an effect: whether the job should still raise is the sandbox's question
    (HISTOGRAM.replace("            raise", "            if score > 100:\n                raise"),
     "raise ValueError(f'score out of range: {score}')"),
    # a failing line that is a condition or a return is another path, for the sandbox to judge
    (HISTOGRAM.replace("        for score", "        if not data['scores']:\n            return {}\n        for score"),
     "for score in data['scores']:"),
])
def test_lines_that_still_run_and_other_kinds_of_lines_pass(changed: str, failing: str) -> None:
    assert skipped_line({HISTOGRAM_PATH: HISTOGRAM}, {HISTOGRAM_PATH: changed}, failing) is None


def test_a_guard_already_in_the_original_is_not_new() -> None:
    guarded = HISTOGRAM.replace("        buckets[score // 10] += 1\n",
                                "        if score != 100:\n            buckets[score // 10] += 1\n")
    renamed = guarded.replace("def histogram(", "def histogram_v2(")
    assert skipped_line({HISTOGRAM_PATH: guarded}, {HISTOGRAM_PATH: renamed}, FAILING) is None


SMS_PATH = "sms.py"


@pytest.mark.parametrize(("changed", "shown"), [
    # the recorded false fix: a first candidate the contract review said YES to (FixBench, session 11)
    ('raw.decode("utf-8", errors="ignore")', 'raw.decode("utf-8", errors="ignore")'),
    # csv_import_latin1's naive fix, and the same handler given by position
    ('raw.decode("utf-8", errors="replace")', 'raw.decode("utf-8", errors="replace")'),
    ('raw.decode("utf-8", "backslashreplace")', "raw.decode('utf-8', 'backslashreplace')"),
    ('str(raw, "utf-8", errors="surrogateescape")', "str(raw, 'utf-8', errors='surrogateescape')"),
])
def test_a_codec_told_to_drop_what_it_cannot_read_is_named(changed: str, shown: str) -> None:
    after = SMS.replace('raw.decode("utf-8")', changed)
    reason = lossy_codec({SMS_PATH: SMS}, {SMS_PATH: after}, "UnicodeDecodeError")
    assert reason is not None
    assert reason.startswith("it hides the UnicodeDecodeError")
    assert f"`{ast.unparse(ast.parse(shown))}`" in reason and "in sms_inbound" in reason and SMS_PATH in reason


@pytest.mark.parametrize("changed", [
    'raw.decode("latin-1")',  # another encoding reads every byte
    'raw.decode(data.get("charset") or "utf-8")',  # the declared one (csv_import_latin1's reference fix)
    'raw.decode("utf-8", errors="strict")',  # strict still raises
    'raw.decode("utf-8", errors=mode)',  # not a constant: nothing to judge
    'raw.decode("latin-1", errors="ignore")',  # every byte reads in latin-1: the handler never acts
    'raw.decode(encoding="ISO-8859-1", errors="replace")',
])
def test_a_codec_that_still_reads_every_character_passes(changed: str) -> None:
    after = SMS.replace('raw.decode("utf-8")', changed)
    assert lossy_codec({SMS_PATH: SMS}, {SMS_PATH: after}, "UnicodeDecodeError") is None


def test_a_lossy_codec_already_there_or_another_failure_is_left_alone() -> None:
    lossy = SMS.replace('raw.decode("utf-8")', 'raw.decode("utf-8", errors="ignore")')
    # the original already did it: not this change's doing
    assert lossy_codec({SMS_PATH: lossy}, {SMS_PATH: lossy + "\n\nLIMIT = 5\n"}, "UnicodeDecodeError") is None
    # the failure was not a codec's: dropping characters does not hide it
    assert lossy_codec({SMS_PATH: SMS}, {SMS_PATH: lossy}, "KeyError") is None
    # a dotted type and the base class count
    assert lossy_codec({SMS_PATH: SMS}, {SMS_PATH: lossy}, "builtins.UnicodeError") is not None


UPLOAD = dedent('''\
    def import_rows(data):
        """Rows of an upload; ``charset`` is the encoding the uploader declared."""
        return data["file"].decode("utf-8").splitlines()
''')


def test_an_input_the_docstring_names_and_no_code_reads_is_named() -> None:
    # The recorded false fix: UTF-8, then latin-1 on failure; this job is latin-1, others are not.
    fallback = UPLOAD.replace('return data["file"].decode("utf-8").splitlines()', dedent('''\
        try:
                return data["file"].decode("utf-8").splitlines()
            except UnicodeDecodeError:
                return data["file"].decode("latin-1").splitlines()'''))
    reason = ignored_input({"upload.py": fallback}, {"file": "[REDACTED]", "charset": "latin-1"})
    assert reason is not None
    assert "import_rows" in reason and "`charset`" in reason


@pytest.mark.parametrize(("code", "data"), [
    # read as a key, by .get, or as a parameter filled from the data
    (UPLOAD.replace('decode("utf-8")', 'decode(data["charset"])'), {"file": "x", "charset": "latin-1"}),
    (UPLOAD.replace('decode("utf-8")', 'decode(data.get("charset") or "utf-8")'), {"file": "x", "charset": "x"}),
    (UPLOAD.replace("(data):", "(data, charset='utf-8'):"), {"file": "x", "charset": "latin-1"}),
    # named by the docstring but not in this job's data: nothing to ignore
    (UPLOAD, {"file": "x"}),
    # in the data but not named by any docstring: not a promise
    (UPLOAD.replace("; ``charset`` is the encoding the uploader declared", ""), {"file": "x", "charset": "x"}),
])
def test_an_input_that_is_read_absent_or_unnamed_passes(code: str, data: dict[str, str]) -> None:
    assert ignored_input({"upload.py": code, "notes.txt": "``charset``"}, data) is None


def test_a_key_anywhere_in_the_data_counts() -> None:
    nested = UPLOAD.replace('data["file"]', 'data["upload"]["file"]')
    assert ignored_input({"upload.py": nested}, {"upload": {"file": "x", "charset": "x"}}) is not None
