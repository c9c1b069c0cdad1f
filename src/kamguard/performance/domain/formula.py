"""The formula language of a scheme's dimensions: arithmetic over metric codes, nothing else.

A formula is parsed with Python's own parser (`ast`, expression mode) and then checked against a whitelist:
numbers, names (metric codes), the binary operators + - * /, unary minus (and plus), parentheses and calls of
`min(...)` / `max(...)` with at least two arguments. Everything else — attributes, other calls, comparisons,
strings, `**`, `//`, `%`, lambdas, subscripts, keyword arguments — is a `FormulaError`. Nothing is ever executed
by Python: the checked tree is copied into this module's own small node types and evaluated with `Decimal`.

Numbers are read from their source text (so "0.1" is exactly Decimal("0.1"), never a float). A formula is at most
`MAX_LENGTH` characters, `MAX_DEPTH` levels deep and `MAX_NODES` nodes.

Positions in errors are 1-based character positions in the formula text (what a person counting characters sees).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext
from functools import lru_cache
from typing import Union

MAX_LENGTH = 500
MAX_DEPTH = 40
MAX_NODES = 200
FUNCTIONS = frozenset({"min", "max"})


class FormulaError(ValueError):
    """A formula that is not in the language; `position` is 1-based (0 when the whole text is at fault)."""

    def __init__(self, position: int, message_en: str, message_zh: str) -> None:
        super().__init__(f"{message_en} (position {position})")
        self.position = position
        self.message_en = message_en
        self.message_zh = message_zh


@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    function: str  # "min" | "max"
    args: tuple[Node, ...]


Node = Union[Num, Var, Neg, BinOp, Call]  # noqa: UP007 - a runtime alias used before the classes are final


@dataclass(frozen=True)
class Formula:
    text: str
    root: Node
    metrics: frozenset[str]


_BINOPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_BAD_OPERATOR_NAMES: dict[type[ast.operator], str] = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}


def _pos(node: ast.AST) -> int:
    return int(getattr(node, "col_offset", 0)) + 1


def _refuse(node: ast.AST, what_en: str, what_zh: str) -> FormulaError:
    return FormulaError(
        _pos(node),
        f"{what_en} is not allowed in a formula: use numbers, metric codes, + - * /, parentheses, min() and max().",
        f"公式中不允许使用{what_zh}:只能使用数字、指标代码、+ - * /、括号、min() 和 max()。",
    )


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.nodes = 0
        self.names: set[str] = set()

    def build(self, node: ast.AST, depth: int) -> Node:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise FormulaError(
                _pos(node),
                f"The formula is nested too deeply (at most {MAX_DEPTH} levels).",
                f"公式嵌套层数过多(最多 {MAX_DEPTH} 层)。",
            )
        if self.nodes > MAX_NODES:
            raise FormulaError(
                _pos(node),
                f"The formula is too long (at most {MAX_NODES} terms).",
                f"公式过长(最多 {MAX_NODES} 项)。",
            )
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise FormulaError(
                    _pos(node),
                    f"{node.id} must be called with its arguments in parentheses, e.g. {node.id}(a, b).",
                    f"{node.id} 必须带括号和参数使用,例如 {node.id}(a, b)。",
                )
            self.names.add(node.id)
            return Var(node.id)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return Neg(self.build(node.operand, depth + 1))
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, depth + 1)
            raise _refuse(node, "This operator", "该运算符")
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                symbol = _BAD_OPERATOR_NAMES.get(type(node.op), "?")
                raise _refuse(node, f"The operator {symbol}", f"运算符 {symbol}")
            return BinOp(op, self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.Compare):
            raise _refuse(node, "A comparison", "比较运算")
        if isinstance(node, ast.BoolOp):
            raise _refuse(node, "and/or", "逻辑运算 and/or")
        if isinstance(node, ast.Attribute):
            raise _refuse(node, "An attribute (a.b)", "属性访问(a.b)")
        if isinstance(node, ast.Lambda):
            raise _refuse(node, "A lambda", "lambda 表达式")
        if isinstance(node, ast.Subscript):
            raise _refuse(node, "Indexing (a[b])", "下标(a[b])")
        if isinstance(node, ast.IfExp):
            raise _refuse(node, "A conditional (a if b else c)", "条件表达式")
        if isinstance(node, ast.JoinedStr):
            raise _refuse(node, "Text", "文本")
        raise _refuse(node, "This construct", "该写法")

    def _number(self, node: ast.Constant) -> Num:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str | bytes):
                raise _refuse(node, "Text", "文本")
            raise _refuse(node, "This constant", "该常量")
        if isinstance(value, int):
            return Num(Decimal(value))
        segment = ast.get_source_segment(self.text, node) or repr(value)
        try:
            number = Decimal(segment)
        except InvalidOperation:  # pragma: no cover - every float literal Python accepts is a Decimal literal
            number = Decimal(repr(value))
        if not number.is_finite():
            raise _refuse(node, "This number", "该数字")
        return Num(number)

    def _call(self, node: ast.Call, depth: int) -> Call:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise FormulaError(
                _pos(node),
                "Only min(...) and max(...) may be called in a formula.",
                "公式中只能调用 min(...) 和 max(...)。",
            )
        name = node.func.id
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise FormulaError(
                _pos(node),
                f"{name}() takes plain arguments separated by commas.",
                f"{name}() 的参数只能用逗号分隔。",
            )
        if len(node.args) < 2:
            raise FormulaError(
                _pos(node),
                f"{name}() needs at least two arguments.",
                f"{name}() 至少需要两个参数。",
            )
        return Call(name, tuple(self.build(arg, depth + 1) for arg in node.args))


def formula_parse(text: str) -> Formula:
    """The checked formula, or FormulaError with the position and the reason in both languages."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError(0, "The formula is empty.", "公式为空。")
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            MAX_LENGTH + 1,
            f"The formula is too long (at most {MAX_LENGTH} characters).",
            f"公式过长(最多 {MAX_LENGTH} 个字符)。",
        )
    if "\n" in text or "\r" in text:
        position = min(i for i in (text.find("\n"), text.find("\r")) if i >= 0) + 1
        raise FormulaError(position, "A formula is a single line.", "公式只能写在一行内。")
    return _parse_cached(text)


@lru_cache(maxsize=512)
def _parse_cached(text: str) -> Formula:
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        position = lead + (exc.offset or 1)
        raise FormulaError(
            position,
            f"The formula cannot be read at position {position}: check the brackets, operators and commas.",
            f"公式在第 {position} 个字符处无法识别:请检查括号、运算符和逗号。",
        ) from None
    except (ValueError, RecursionError, MemoryError):
        raise FormulaError(0, "The formula cannot be read.", "无法识别该公式。") from None
    builder = _Builder(stripped)
    try:
        root = builder.build(tree.body, 1)
    except FormulaError as exc:
        if lead and exc.position:
            raise FormulaError(exc.position + lead, exc.message_en, exc.message_zh) from None
        raise
    return Formula(text=text, root=root, metrics=frozenset(builder.names))


class _NoValue(Exception):
    """A metric without data or a division by zero: the formula has no value."""


def _eval(node: Node, values: Mapping[str, Decimal | None]) -> Decimal:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Var):
        value = values.get(node.name)
        if value is None:
            raise _NoValue
        return Decimal(value)
    if isinstance(node, Neg):
        return -_eval(node.operand, values)
    if isinstance(node, BinOp):
        left = _eval(node.left, values)
        right = _eval(node.right, values)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        if right == 0:
            raise _NoValue
        return left / right
    args = [_eval(arg, values) for arg in node.args]
    return min(args) if node.function == "min" else max(args)


def formula_evaluate(formula: Formula, values: Mapping[str, Decimal | None]) -> Decimal | None:
    """The formula's value over the metrics; None when a metric it names has no data or a division by zero."""
    with localcontext() as context:
        context.prec = 28
        context.traps[DivisionByZero] = True
        try:
            return _eval(formula.root, values)
        except (_NoValue, ArithmeticError):  # division by zero, overflow, an invalid operation: no value
            return None


def formula_numbers(formula: Formula) -> tuple[Decimal, ...]:
    """The number literals of the formula, in the order they are written."""
    out: list[Decimal] = []

    def walk(node: Node) -> None:
        if isinstance(node, Num):
            out.append(node.value)
        elif isinstance(node, Neg):
            walk(node.operand)
        elif isinstance(node, BinOp):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Call):
            for arg in node.args:
                walk(arg)

    walk(formula.root)
    return tuple(out)


def formula_missing(formula: Formula, values: Mapping[str, Decimal | None]) -> tuple[str, ...]:
    """The metric codes the formula names that have no data, sorted."""
    return tuple(sorted(code for code in formula.metrics if values.get(code) is None))
