"""`kamguard dedupe check` and `kamguard dedupe scan` (the management command behind them)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kamguard.customers.models import Customer
from kamguard.customers.services.records import customer_create

pytestmark = pytest.mark.django_db(transaction=False)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- check


def test_check_json_names_the_existing_customer_by_external_id(book, capsys):
    # given: alpha has an external id, gamma has none
    Customer.objects.filter(pk=book.alpha.pk).update(external_id="CRM-0001")

    # when
    call_command("dedupe", "check", "深圳腾达电子科技有限公司", "--json")

    # then: one JSON line, a duplicate, alpha first with its external id, a score and reasons
    lines = _json_lines(capsys.readouterr().out)
    assert len(lines) == 1
    answer = lines[0]
    assert answer["query"] == "深圳腾达电子科技有限公司"
    assert answer["verdict"] == "duplicate"
    top = answer["candidates"][0]
    assert top["external_id"] == "CRM-0001"
    assert top["name"] == "深圳市腾达电子科技有限公司"
    assert 0.9 <= top["score"] <= 1.0 and top["reasons"]
    # and not: unrelated customers as candidates
    assert all(c["customer_id"] not in (book.beta.pk, book.gamma.pk) for c in answer["candidates"])


def test_check_falls_back_to_the_primary_key(book, capsys):
    call_command("dedupe", "check", "上海浦江物流有限公司", "--json")

    top = _json_lines(capsys.readouterr().out)[0]["candidates"][0]
    assert top["external_id"] == str(book.gamma.pk)


def test_check_table_is_readable(book, capsys):
    call_command("dedupe", "check", "成都蜀光机械股份有限公司")

    out = capsys.readouterr().out
    assert "成都蜀光机械股份有限公司: duplicate" in out
    assert "external id" in out and "score" in out and "reasons" in out
    assert str(book.beta.pk) in out


def test_check_unique_name_has_no_candidates(book, capsys):
    call_command("dedupe", "check", "北京星辰航天材料研究院", "--json")

    answer = _json_lines(capsys.readouterr().out)[0]
    assert answer == {"query": "北京星辰航天材料研究院", "verdict": "unique", "candidates": []}


def test_check_with_uscc_finds_the_customer_whatever_its_name(book, capsys):
    Customer.objects.filter(pk=book.beta.pk).update(uscc="91110000100000589A")
    from kamguard.customers.services.dedupe import customer_keys_refresh

    customer_keys_refresh(customer_ids=[book.beta.pk])

    call_command("dedupe", "check", "完全不同的名字有限公司", "--uscc", "91110000100000589A", "--json")

    answer = _json_lines(capsys.readouterr().out)[0]
    assert answer["verdict"] == "duplicate"
    assert answer["candidates"][0]["customer_id"] == book.beta.pk
    assert "same USCC" in answer["candidates"][0]["reasons"]


def test_check_file_gives_one_line_per_name_and_skips_blank_lines(book, capsys, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("深圳市腾达电子科技有限公司\n\n   \n北京星辰航天材料研究院\n蜀光机械\n", encoding="utf-8")

    call_command("dedupe", "check", "--file", str(names), "--json")

    lines = _json_lines(capsys.readouterr().out)
    assert [line["query"] for line in lines] == ["深圳市腾达电子科技有限公司", "北京星辰航天材料研究院", "蜀光机械"]
    assert [line["verdict"] for line in lines][:2] == ["duplicate", "unique"]
    assert lines[2]["verdict"] in ("duplicate", "possible_duplicate")
    assert lines[2]["candidates"][0]["customer_id"] == book.beta.pk


def test_check_csv_file_with_a_name_column(book, capsys, tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("\ufeffid,name,uscc\n1,上海浦江物流有限公司,\n2,北京星辰航天材料研究院,BAD-CODE\n",
                     encoding="utf-8")

    call_command("dedupe", "check", "--file", str(names), "--json")

    captured = capsys.readouterr()
    lines = _json_lines(captured.out)
    assert [line["verdict"] for line in lines] == ["duplicate", "unique"]
    assert "line 3" in captured.err and "not a valid unified social credit code" in captured.err


def test_check_bad_uscc_warns_and_checks_without_it(book, capsys):
    call_command("dedupe", "check", "上海浦江物流有限公司", "--uscc", "123", "--json")

    captured = capsys.readouterr()
    assert "'123' is not a valid unified social credit code; checked without it (no USCC key)" in captured.err
    assert _json_lines(captured.out)[0]["verdict"] == "duplicate"


@pytest.mark.parametrize("args, message", [
    (["check", "   "], "the name is empty"),
    (["check"], "the name is empty"),
    (["check", "--file", "/nonexistent/names.txt"], "No such file"),
    (["check", "x", "--limit", "0"], "--limit must be at least 1"),
    (["scan", "--chunk-size", "0"], "--chunk-size must be at least 1"),
])
def test_bad_input_is_refused_with_a_message(world, args, message):
    with pytest.raises(CommandError, match=message) as refused:
        call_command("dedupe", *args)
    assert refused.value.returncode == 2


def test_file_with_only_blank_lines_is_refused(world, tmp_path):
    names = tmp_path / "empty.txt"
    names.write_text("\n  \n", encoding="utf-8")

    with pytest.raises(CommandError, match="No names to check"):
        call_command("dedupe", "check", "--file", str(names))


# ---------------------------------------------------------------- scan


def test_scan_finds_a_planted_duplicate_pair_and_nothing_else(book, world, capsys):
    # given: a second record of alpha, registered past the check (as an import without the check would)
    twin = customer_create(actor=None, name="深圳腾达电子科技有限公司", to_pool=True, pool=book.pool,
                           skip_dedupe=True, external_id="IMP-7")

    # when
    call_command("dedupe", "scan", "--json")

    # then: exactly one group, alpha and the twin, with a score and reasons
    answer = json.loads(capsys.readouterr().out)
    assert answer["customers_scanned"] == 4
    assert len(answer["groups"]) == 1
    group = answer["groups"][0]
    assert {c["customer_id"] for c in group["customers"]} == {book.alpha.pk, twin.pk}
    assert {c["external_id"] for c in group["customers"]} == {str(book.alpha.pk), "IMP-7"}
    assert len(group["pairs"]) == 1
    assert group["pairs"][0]["score"] >= 0.9 and group["pairs"][0]["reasons"]
    # and not: the unrelated customers
    assert not {c["customer_id"] for c in group["customers"]} & {book.beta.pk, book.gamma.pk}


def test_scan_table_and_include_possible(book, world, capsys):
    customer_create(actor=None, name="深圳腾达电子科技有限公司", to_pool=True, pool=book.pool, skip_dedupe=True)

    call_command("dedupe", "scan", "--include-possible", "--chunk-size", "1")

    out = capsys.readouterr().out
    assert out.startswith("4 customers scanned; 1 duplicate or possible duplicate groups")
    assert "Group 1: 2 customers" in out
    assert "深圳市腾达电子科技有限公司" in out and "成都蜀光机械股份有限公司" not in out


def test_scan_of_a_clean_database_finds_nothing(book, capsys):
    call_command("dedupe", "scan")

    assert capsys.readouterr().out.strip() == "3 customers scanned; 0 duplicate groups (pairs scoring ≥ 0.90)."
