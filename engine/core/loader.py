"""Load workflow YAML into checked :class:`WorkflowDef` objects.

Every problem in a file is collected (not just the first) with the file, the YAML path, the
line and a hint, and raised together as one :class:`DefinitionError`. Reads files; writes
nothing; knows nothing of the database.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from engine.core.definition import (
    ALERT_KINDS,
    ASSIGNEE,
    CORRECT_TRIGGER,
    DEFAULT_ALERTS,
    FIELD_TYPES,
    GUARD_OPS,
    INVOLVED,
    OPEN_TRIGGER,
    OWNER,
    AccessDef,
    AlertRungDef,
    ClockDef,
    EventSet,
    FieldDef,
    GuardCheck,
    GuardDef,
    Parameter,
    PlanDef,
    RetentionDef,
    RuleDef,
    StateDef,
    TransitionDef,
    WorkflowDef,
)
from engine.core.errors import DefinitionError, Problem, did_you_mean, one_of
from engine.core.roles import ROLES
from engine.core.rules import RULE_FORMS, parse_rule, rule_parameter

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
# libyaml's loader when PyYAML has it (ten times faster: every CLI command loads the files).
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOP_KEYS = {
    "workflow", "version", "title", "description", "reference_field",
    "fields", "open", "states", "guards", "transitions", "clocks", "access", "retention",
    "parameters", "partnership_wide",
}
# What a reference field accepts unless its YAML sets a ``pattern``: letters, digits and
# hyphens with at least one digit (C-58213), so a name never becomes a reference.
DEFAULT_REFERENCE_PATTERN = "(?=.*[0-9])[A-Za-z0-9][A-Za-z0-9-]{1,31}"
_FIELD_KEYS = {"type", "description", "choices", "personal", "max_length", "pattern",
               "involves", "label", "hint"}
_STATE_KEYS = {"description", "initial", "final"}
_TRANSITION_KEYS = {
    "trigger", "from", "to", "internal", "requires", "accepts", "guards", "roles", "description",
    "notify", "via", "notice",
}
# ``via:`` names the command of the domain service that owns a trigger: a few words, one line.
_VIA = re.compile(r"^[a-z][a-z0-9_-]*( [a-z][a-z0-9_-]*)+$")
_CLOCK_KEYS = {
    "rule", "starts", "met", "cancelled", "met_on", "owner", "description", "alerts",
    "keyed_by", "first_from", "plan", "not_before_start", "changed_on",
    "label", "rule_label", "what_to_do", "item_fields",
}
_PLAN_KEYS = {"summary", "owner", "reason"}
_ALERT_KEYS = {"at", "to", "kind"}
_RUNG = re.compile(r"^(\d+) working days? (before|after)$")
_EVENTSET_KEYS = {"enter", "fire"}
_OPEN_KEYS = {"requires", "accepts", "roles"}


# Bounds on a definition file, checked before anything is built from it: a real workflow is
# a few hundred lines, a few levels deep, and uses anchors sparingly if at all.
MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_ALIASES = 100
MAX_NODES = 50_000


def _check_size(node: yaml.Node, source: str) -> None:
    """Refuse a node graph that is too deep, refers to itself, uses too many aliases, or
    expands (aliases followed) to too many nodes: the 'billion laughs' and its relatives."""
    seen: set[int] = set()
    aliases = 0
    expanded = 0

    def fail(message: str, at: yaml.Node) -> None:
        raise DefinitionError([Problem(source, "(yaml)", message, "", at.start_mark.line + 1)])

    def walk(node: yaml.Node, depth: int, path: tuple[int, ...]) -> None:
        nonlocal aliases, expanded
        expanded += 1
        if expanded > MAX_NODES:
            fail(f"too large: more than {MAX_NODES} values once anchors are expanded", node)
        if depth > MAX_DEPTH:
            fail(f"nested more than {MAX_DEPTH} levels deep", node)
        if id(node) in path:
            fail("an anchor refers to itself", node)
        if id(node) in seen and isinstance(node, yaml.CollectionNode):
            aliases += 1
            if aliases > MAX_ALIASES:
                fail(f"more than {MAX_ALIASES} aliases", node)
        seen.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                children += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        for child in children:
            walk(child, depth + 1, (*path, id(node)))

    walk(node, 0, ())


def _compose(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The document's node graph (bounds checked) and the data constructed from it."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise DefinitionError([Problem(source, "(file)", f"larger than {MAX_FILE_BYTES} bytes")])
    loader = _YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_size(node, source)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def _line_map(root: yaml.Node | None) -> dict[str, int]:
    """YAML path ('transitions[2].to') -> 1-based line, from the composed node tree."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node | None, path: str, depth: int) -> None:
        if node is None or depth > MAX_DEPTH:
            return
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = f"{path}.{key.value}" if path else str(key.value)
                lines[child] = key.start_mark.line + 1
                walk(value, child, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{path}[{index}]", depth + 1)

    walk(root, "", 0)
    return lines


class _Checker:
    """Collects problems while turning the raw mapping into definitions."""

    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str, hint: str = "") -> None:
        line = self.lines.get(path)
        probe = path
        while line is None and probe:
            probe = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe)
            if probe == path:
                break
            line = self.lines.get(probe)
        self.problems.append(Problem(self.source, path or "(top)", message, hint, line))

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, found {type(value).__name__}")
            return {}
        return value

    def name_list(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.problem(path, "expected a name or a list of names")
        return ()

    def unknown_keys(self, raw: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in raw:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.problem(where, f"unknown key '{key}'{did_you_mean(str(key), allowed)}",
                             f"allowed keys: {one_of(allowed)}")

    def known(self, names: Iterable[str], universe: Iterable[str], path: str, what: str) -> None:
        universe = list(universe)
        for name in names:
            if name not in universe:
                self.problem(path, f"unknown {what} '{name}'{did_you_mean(name, universe)}",
                             f"known {what}s: {one_of(universe)}")


def load_text(text: str, source: str = "<text>") -> WorkflowDef:
    try:
        root, raw = _compose(text, source)  # a safe loader (see _YAML_LOADER), bounded
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DefinitionError([Problem(source, "(yaml)", f"not valid YAML: {exc}", "", line)]) \
            from None
    if not isinstance(raw, dict):
        raise DefinitionError([Problem(source, "(top)", "expected a mapping at the top level")])
    check = _Checker(source, _line_map(root))
    definition = _build(raw, check, text)
    if check.problems:
        raise DefinitionError(check.problems)
    assert definition is not None
    return definition


# Parsed definitions by (source, content digest): a process loads each file's text once,
# however many commands or engines ask (definitions are frozen, so sharing them is safe).
_PARSED: dict[tuple[str, str], WorkflowDef] = {}


def load_file(path: str | Path) -> WorkflowDef:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DefinitionError([Problem(str(path), "(file)",
                                           f"larger than {MAX_FILE_BYTES} bytes")])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError([Problem(str(path), "(file)", f"cannot read: {exc.strerror}")]) \
            from None
    except UnicodeDecodeError as exc:
        raise DefinitionError([Problem(str(path), "(file)", "not UTF-8 text (byte "
                                       f"{exc.start})")]) from None
    key = (str(path), hashlib.sha256(text.encode("utf-8")).hexdigest())
    if key not in _PARSED:
        _PARSED[key] = load_text(text, str(path))
    return _PARSED[key]


def _build(raw: dict[str, Any], check: _Checker, text: str) -> WorkflowDef | None:
    check.unknown_keys(raw, _TOP_KEYS, "")
    name = raw.get("workflow")
    if not isinstance(name, str) or not _IDENT.match(name):
        check.problem("workflow", "a workflow name (lower_snake_case) is required")
        name = "invalid"
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        check.problem("version", "a whole-number version of 1 or more is required",
                      "bump it whenever the file changes")
        version = 1

    fields = _fields(raw.get("fields"), check)
    states = _states(raw.get("states"), check)
    guards = _guards(raw.get("guards"), check, fields)
    transitions = _transitions(raw.get("transitions"), check, states, fields, guards)
    open_raw = check.mapping(raw.get("open"), "open")
    check.unknown_keys(open_raw, _OPEN_KEYS, "open")
    open_requires = check.name_list(open_raw.get("requires"), "open.requires")
    open_accepts = check.name_list(open_raw.get("accepts"), "open.accepts")
    open_roles = check.name_list(open_raw.get("roles"), "open.roles")
    check.known(open_requires + open_accepts, fields, "open", "field")
    check.known(open_roles, ROLES, "open.roles", "role")
    reference_field = raw.get("reference_field")
    if reference_field is not None:
        check.known([str(reference_field)], fields, "reference_field", "field")
        ref_def = fields.get(str(reference_field))
        if ref_def is not None and ref_def.pattern is None:  # a reference is never a name
            fields[str(reference_field)] = replace(ref_def, pattern=DEFAULT_REFERENCE_PATTERN)

    _check_graph(check, states, transitions)
    triggers = {t.trigger for t in transitions}
    parameters = _parameters(raw.get("parameters"), check)
    clocks = _clocks(raw.get("clocks"), check, fields, states, triggers, parameters)
    initial = next((s.name for s in states.values() if s.initial), None)
    _check_anchors(check, clocks, transitions, open_requires, initial)

    access = _access(raw.get("access"), check)
    retention = _retention(raw.get("retention"), check, fields)
    personal_in_events = [f.name for f in fields.values() if f.personal and f.name in
                          open_requires]
    for name in personal_in_events:
        check.problem(f"fields.{name}", f"personal field '{name}' cannot be required to open "
                      "a case", "make it optional (open.accepts): personal data is never "
                      "needed to run the process")

    if check.problems:
        return None
    return WorkflowDef(
        name=name, version=version, title=str(raw.get("title") or name),
        description=str(raw.get("description") or "").strip(),
        fields=fields, states=states, transitions=tuple(transitions),
        open_requires=open_requires, open_accepts=open_accepts, open_roles=open_roles,
        reference_field=reference_field, guards=guards, clocks=clocks, access=access,
        retention=retention, parameters=parameters,
        partnership_wide=raw.get("partnership_wide") is True,
        source=check.source, digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _access(raw: Any, check: _Checker) -> AccessDef:
    spec = check.mapping(raw, "access")
    check.unknown_keys(spec, {"read", "correct", "personal"}, "access")
    lists = {}
    for key in ("read", "correct", "personal"):
        lists[key] = check.name_list(spec.get(key), f"access.{key}")
        check.known(lists[key], ROLES, f"access.{key}", "role")
    return AccessDef(read=lists["read"], correct=lists["correct"], personal=lists["personal"])


def _retention(raw: Any, check: _Checker, fields: Mapping[str, FieldDef]) -> RetentionDef | None:
    if raw is None:
        return None
    spec = check.mapping(raw, "retention")
    check.unknown_keys(spec, {"years", "from"}, "retention")
    years = spec.get("years")
    if not isinstance(years, int) or years < 1:
        check.problem("retention.years", "retention needs a whole number of years")
        return None
    source = spec.get("from")
    if source is not None:
        target = fields.get(str(source))
        if target is None:
            check.known([str(source)], fields, "retention.from", "field")
        elif target.type != "date":
            check.problem("retention.from", f"field '{source}' must be a date")
    return RetentionDef(years=years, from_field=str(source) if source else None)


def _fields(raw: Any, check: _Checker) -> dict[str, FieldDef]:
    out: dict[str, FieldDef] = {}
    for name, spec in check.mapping(raw, "fields").items():
        path = f"fields.{name}"
        if not _IDENT.match(str(name)):
            check.problem(path, f"field name '{name}' must be lower_snake_case")
        spec = check.mapping(spec, path)
        check.unknown_keys(spec, _FIELD_KEYS, path)
        ftype = spec.get("type")
        if ftype not in FIELD_TYPES:
            check.problem(f"{path}.type", f"unknown field type '{ftype}'",
                          f"one of: {one_of(FIELD_TYPES)}")
            continue
        choices = check.name_list(spec.get("choices"), f"{path}.choices")
        if ftype == "choice" and not choices:
            check.problem(f"{path}.choices", "a choice field needs a list of choices")
        max_length = spec.get("max_length")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            check.problem(f"{path}.max_length", "max_length must be a positive whole number")
            max_length = None
        pattern = spec.get("pattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                check.problem(f"{path}.pattern", f"not a valid regular expression: {exc}")
        out[str(name)] = FieldDef(
            name=str(name), type=ftype, description=str(spec.get("description") or ""),
            choices=choices, personal=bool(spec.get("personal", False)),
            max_length=max_length, pattern=str(pattern) if pattern is not None else None,
            involves=str(spec["involves"]) if spec.get("involves") else None,
            label=_words(spec, "label", path, check), hint=_words(spec, "hint", path, check),
        )
    return out


def _words(spec: Mapping[str, Any], key: str, path: str, check: _Checker,
           limit: int = 300) -> str:
    """A label, hint or sentence people read (in emails and forms): one line of words, no
    identifiers."""
    value = spec.get(key)
    if value is None:
        return ""
    text = " ".join(str(value).split())
    if not isinstance(value, str) or not text:
        check.problem(f"{path}.{key}", f"{key} must be a line of text")
        return ""
    if len(text) > limit:
        check.problem(f"{path}.{key}", f"{key} is {len(text)} characters; at most {limit}")
    if re.search(r"[a-z0-9]_[a-z0-9]", text):
        check.problem(f"{path}.{key}", f"{key} '{text[:60]}' holds an identifier; people "
                      "read it in emails and forms", "write it in words, without underscores")
    return text


def _states(raw: Any, check: _Checker) -> dict[str, StateDef]:
    out: dict[str, StateDef] = {}
    mapping = check.mapping(raw, "states")
    if not mapping:
        check.problem("states", "a workflow needs states")
    for name, spec in mapping.items():
        path = f"states.{name}"
        if not _IDENT.match(str(name)):
            check.problem(path, f"state name '{name}' must be lower_snake_case")
        spec = check.mapping(spec, path)
        check.unknown_keys(spec, _STATE_KEYS, path)
        if not spec.get("description"):
            check.problem(f"{path}.description", "every state needs a description",
                          "say what is happening to the case in this state")
        out[str(name)] = StateDef(
            name=str(name), description=str(spec.get("description") or ""),
            initial=bool(spec.get("initial", False)), final=bool(spec.get("final", False)),
        )
    initial = [s.name for s in out.values() if s.initial]
    if mapping and len(initial) != 1:
        check.problem("states", f"exactly one state must be initial; found {len(initial)}"
                      + (f" ({', '.join(initial)})" if initial else ""),
                      "mark the state a new case starts in with 'initial: true'")
    return out


def _guards(raw: Any, check: _Checker, fields: Mapping[str, FieldDef]) -> dict[str, GuardDef]:
    out: dict[str, GuardDef] = {}
    for name, spec in check.mapping(raw, "guards").items():
        path = f"guards.{name}"
        spec = check.mapping(spec, path)
        check.unknown_keys(spec, {"description", "all"}, path)
        items = spec.get("all")
        if not isinstance(items, list) or not items:
            check.problem(f"{path}.all", "a guard needs a list of checks under 'all'",
                          "e.g. all: [{field: reviewer, present: true}]")
            continue
        checks: list[GuardCheck] = []
        for index, item in enumerate(items):
            ipath = f"{path}.all[{index}]"
            item = check.mapping(item, ipath)
            ops = [k for k in item if k != "field"]
            if "field" not in item or len(ops) != 1 or ops[0] not in GUARD_OPS:
                check.problem(ipath, "a check is {field: NAME, OP: VALUE}",
                              f"OP is one of: {one_of(GUARD_OPS)}")
                continue
            check.known([str(item["field"])], fields, f"{ipath}.field", "field")
            op, value = ops[0], item[ops[0]]
            if op in ("in", "not_in"):
                value = check.name_list(value, f"{ipath}.{op}")
            elif op == "equals":
                value = str(value)
            else:
                value = None
            checks.append(GuardCheck(field=str(item["field"]), op=op, value=value))
        out[str(name)] = GuardDef(str(name), str(spec.get("description") or name), tuple(checks))
    return out


def _transitions(raw: Any, check: _Checker, states: Mapping[str, StateDef],
                 fields: Mapping[str, FieldDef], guards: Mapping[str, GuardDef],
                 ) -> list[TransitionDef]:
    out: list[TransitionDef] = []
    if not isinstance(raw, list) or not raw:
        check.problem("transitions", "a workflow needs a list of transitions")
        return out
    for index, spec in enumerate(raw):
        path = f"transitions[{index}]"
        spec = check.mapping(spec, path)
        check.unknown_keys(spec, _TRANSITION_KEYS, path)
        trigger = spec.get("trigger")
        if not isinstance(trigger, str) or not _IDENT.match(trigger):
            check.problem(f"{path}.trigger", "a trigger name (lower_snake_case) is required")
            continue
        if trigger in (OPEN_TRIGGER, CORRECT_TRIGGER):
            check.problem(f"{path}.trigger", f"'{trigger}' is reserved by the engine")
        sources = check.name_list(spec.get("from"), f"{path}.from")
        if not sources:
            check.problem(f"{path}.from", "a transition needs one or more source states")
        check.known(sources, states, f"{path}.from", "state")
        internal = bool(spec.get("internal", False))
        dest = spec.get("to")
        if internal and dest is not None:
            check.problem(f"{path}.to", "an internal transition has no destination",
                          "remove 'to' or 'internal: true'")
        elif not internal and dest is None:
            check.problem(path, "a transition needs 'to' (or 'internal: true')")
        elif dest is not None:
            check.known([str(dest)], states, f"{path}.to", "state")
        requires = check.name_list(spec.get("requires"), f"{path}.requires")
        accepts = check.name_list(spec.get("accepts"), f"{path}.accepts")
        check.known(requires, fields, f"{path}.requires", "field")
        check.known(accepts, fields, f"{path}.accepts", "field")
        guard_names = check.name_list(spec.get("guards"), f"{path}.guards")
        check.known(guard_names, guards, f"{path}.guards", "guard")
        roles = check.name_list(spec.get("roles"), f"{path}.roles")
        check.known(roles, ROLES, f"{path}.roles", "role")
        notify = check.name_list(spec.get("notify"), f"{path}.notify")
        # A role, or 'involved:KIND': the people involved in the case that way (a MACE
        # meeting's invitees, say), at their registered addresses.
        check.known([n for n in notify if not n.startswith(INVOLVED)], ROLES,
                    f"{path}.notify", "role")
        out.append(TransitionDef(
            trigger=trigger, sources=sources, dest=None if internal else str(dest),
            requires=requires, accepts=accepts, guards=guard_names, roles=roles,
            description=str(spec.get("description") or ""), notify=notify,
            notice=_words(spec, "notice", path, check),
            via=_via(spec, check, path, trigger, out),
        ))
    return out


def _via(spec: Mapping[str, Any], check: _Checker, path: str, trigger: str,
         earlier: list[TransitionDef]) -> str | None:
    """The domain command that owns a trigger: the same on every transition of the trigger
    (the generic route refuses the trigger whatever state the case is in)."""
    via = spec.get("via")
    if via is not None and (not isinstance(via, str) or not _VIA.match(via)):
        check.problem(f"{path}.via", f"'via' must name the command that records '{trigger}' "
                      f"(found {via!r})", 'e.g. via: "safeguard mace decide" (lower-case '
                      "words on one line)")
        return None
    other = next((t for t in earlier if t.trigger == trigger), None)
    if other is not None and other.via != via:
        check.problem(f"{path}.via" if via is not None else path,
                      f"trigger '{trigger}' is owned by '{other.via or '(no command)'}' on "
                      f"another transition but by '{via or '(no command)'}' here",
                      "give every transition of a trigger the same 'via'")
    return via


def _check_graph(check: _Checker, states: Mapping[str, StateDef],
                 transitions: list[TransitionDef]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for index, t in enumerate(transitions):
        for source in t.sources:
            key = (source, t.trigger)
            if key in seen:
                check.problem(f"transitions[{index}]",
                              f"duplicate trigger '{t.trigger}' from state '{source}' "
                              f"(also transitions[{seen[key]}])",
                              "a trigger may leave a state only one way")
            else:
                seen[key] = index
    initial = [s.name for s in states.values() if s.initial]
    if len(initial) != 1:
        return
    reachable, queue = {initial[0]}, deque(initial)
    while queue:
        here = queue.popleft()
        for t in transitions:
            if here in t.sources and t.dest is not None and t.dest in states \
                    and t.dest not in reachable:
                reachable.add(t.dest)
                queue.append(t.dest)
    for name, state in states.items():
        moves = [t for t in transitions if name in t.sources and not t.internal]
        if name not in reachable:
            check.problem(f"states.{name}", f"state '{name}' cannot be reached from "
                          f"'{initial[0]}'", "add a transition into it or remove it")
        if state.final and [t for t in transitions if name in t.sources]:
            check.problem(f"states.{name}", f"final state '{name}' has transitions out of it",
                          "a final state ends the case; remove 'final' or the transitions")
        if not state.final and not moves:
            check.problem(f"states.{name}", f"state '{name}' is a dead end but not final",
                          "add a transition out of it or mark it 'final: true'")


def _event_set(raw: Any, check: _Checker, path: str, states: Iterable[str],
               triggers: Iterable[str]) -> EventSet:
    spec = check.mapping(raw, path)
    check.unknown_keys(spec, _EVENTSET_KEYS, path)
    enter = check.name_list(spec.get("enter"), f"{path}.enter")
    fire = check.name_list(spec.get("fire"), f"{path}.fire")
    check.known(enter, states, f"{path}.enter", "state")
    check.known(fire, [*triggers, OPEN_TRIGGER, CORRECT_TRIGGER], f"{path}.fire", "trigger")
    return EventSet(enter=frozenset(enter), fire=frozenset(fire))


# The largest number a rule, a parameter or an alert rung may give (days, months, hours or
# weeks): bounded at load, so a definition that validates can always be computed.
MAX_AMOUNT = 5_000


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT


def _parameters(raw: Any, check: _Checker) -> dict[str, Parameter]:
    """Named numbers the rules may use: ``n: 10`` or a table ``n: {low: 12, high: 4}``."""
    out: dict[str, Parameter] = {}
    for name, value in check.mapping(raw, "parameters").items():
        path = f"parameters.{name}"
        if not _IDENT.match(str(name)):
            check.problem(path, f"parameter name '{name}' must be lower_snake_case")
            continue
        if _whole(value):
            out[str(name)] = int(value)
        elif isinstance(value, dict) and value and all(_whole(v) for v in value.values()):
            out[str(name)] = {str(k): int(v) for k, v in value.items()}
        else:
            check.problem(path, f"parameter '{name}' must be a whole number (0 to "
                          f"{MAX_AMOUNT}) or a mapping of choices to whole numbers",
                          "e.g. review_weeks: {low: 12, high: 4}")
    return out


def _rule(spec: Mapping[str, Any], check: _Checker, path: str,
          fields: Mapping[str, FieldDef], parameters: Mapping[str, Parameter],
          ) -> RuleDef | None:
    text = str(spec.get("rule", ""))
    numbers = [int(n) for n in re.findall(r"\d{1,6}", text)]
    if re.search(r"\d{5,}", text) or any(n > MAX_AMOUNT for n in numbers):
        check.problem(f"{path}.rule", f"rule '{text[:80]}' gives a number over {MAX_AMOUNT}")
        return None
    rule = parse_rule(text, parameters)
    if rule is None:
        named = rule_parameter(text)
        if named is not None and named[0] not in parameters:
            check.problem(f"{path}.rule", f"rule '{text}' names unknown parameter "
                          f"'{named[0]}'{did_you_mean(named[0], parameters)}",
                          f"known parameters: {one_of(parameters)}")
        elif named is not None:
            shape = "a table (write NAME[FIELD])" if not isinstance(
                parameters[named[0]], int) else "a number (write it without [FIELD])"
            check.problem(f"{path}.rule", f"parameter '{named[0]}' is {shape}")
        else:
            check.problem(f"{path}.rule", f"cannot read rule '{text}'",
                          f"write one of {RULE_FORMS}")
        return None
    if rule.key_field is not None:
        key = fields.get(rule.key_field)
        table = parameters[str(rule.param)]
        if key is None:
            check.known([rule.key_field], fields, f"{path}.rule", "field")
        elif key.type != "choice":
            check.problem(f"{path}.rule", f"field '{rule.key_field}' is {key.type}; a "
                          "parameter table is indexed by a choice field")
        elif isinstance(table, Mapping):
            missing = [c for c in key.choices if c not in table]
            extra = [k for k in table if k not in key.choices]
            if missing or extra:
                check.problem(f"parameters.{rule.param}",
                              f"parameter '{rule.param}' must give a number for each choice of "
                              f"'{rule.key_field}' ({one_of(key.choices)})"
                              + (f"; missing: {one_of(missing)}" if missing else "")
                              + (f"; unknown: {one_of(extra)}" if extra else ""))
    return rule


def _clocks(raw: Any, check: _Checker, fields: Mapping[str, FieldDef],
            states: Mapping[str, StateDef], triggers: set[str],
            parameters: Mapping[str, Parameter] | None = None) -> dict[str, ClockDef]:
    out: dict[str, ClockDef] = {}
    parameters = parameters or {}
    for name, spec in check.mapping(raw, "clocks").items():
        path = f"clocks.{name}"
        spec = check.mapping(spec, path)
        check.unknown_keys(spec, _CLOCK_KEYS, path)
        rule = _rule(spec, check, path, fields, parameters)
        if rule is None:
            continue
        if rule.anchor is not None:
            anchor = fields.get(rule.anchor)
            if anchor is None:
                check.known([rule.anchor], fields, f"{path}.rule", "field")
            elif anchor.type not in ("date", "datetime"):
                check.problem(f"{path}.rule", f"field '{rule.anchor}' is {anchor.type}, "
                              "a rule counts from a date or datetime field")
        starts = _event_set(spec.get("starts"), check, f"{path}.starts", states, triggers)
        if rule.state is not None:
            check.known([rule.state], states, f"{path}.rule", "state")
            if not starts:
                starts = EventSet(enter=frozenset({rule.state}))
        met = _event_set(spec.get("met"), check, f"{path}.met", states, triggers)
        cancelled = _event_set(spec.get("cancelled"), check, f"{path}.cancelled", states,
                               triggers)
        if not starts:
            check.problem(f"{path}.starts", "a clock needs something that starts it",
                          "e.g. starts: {enter: [STATE]} or starts: {fire: [TRIGGER]}")
        if not met and not rule.recurring:
            check.problem(f"{path}.met", "a clock needs something that meets it",
                          "e.g. met: {fire: [TRIGGER]}")
        met_on = spec.get("met_on")
        if met_on is not None:
            target = fields.get(str(met_on))
            if target is None:
                check.known([str(met_on)], fields, f"{path}.met_on", "field")
            elif target.type not in ("date", "datetime"):
                check.problem(f"{path}.met_on", f"field '{met_on}' must be a date or datetime")
        owner = spec.get("owner")
        if owner is not None:
            check.known([str(owner)], ROLES, f"{path}.owner", "role")
        keyed_by = spec.get("keyed_by")
        if keyed_by is not None:
            check.known([str(keyed_by)], fields, f"{path}.keyed_by", "field")
            if rule.recurring:
                check.problem(f"{path}.keyed_by", "a recurring clock cannot be keyed",
                              "key a clock that starts on a fire, e.g. one per episode")
        first_from = spec.get("first_from")
        if first_from is not None:
            target = fields.get(str(first_from))
            if target is None:
                check.known([str(first_from)], fields, f"{path}.first_from", "field")
            elif target.type != "date":
                check.problem(f"{path}.first_from", f"field '{first_from}' must be a date")
            if not rule.recurring:
                check.problem(f"{path}.first_from", "only an 'every N weeks' clock has a first "
                              "cycle to count from a field", "remove first_from")
        plan = _plan(spec.get("plan"), check, f"{path}.plan", fields) \
            if "plan" in spec else None
        if plan is not None and keyed_by is None:
            check.problem(f"{path}.plan", "a plan's items are the deadlines of a keyed clock",
                          "add keyed_by: FIELD (the item's reference, e.g. action_ref)")
        not_before_start = spec.get("not_before_start", False)
        if not isinstance(not_before_start, bool):
            check.problem(f"{path}.not_before_start", "not_before_start is true or false")
            not_before_start = False
        changed_on = spec.get("changed_on")
        if changed_on is not None:
            target = fields.get(str(changed_on))
            if target is None:
                check.known([str(changed_on)], fields, f"{path}.changed_on", "field")
            elif target.type != "date":
                check.problem(f"{path}.changed_on", f"field '{changed_on}' must be a date")
            if not rule.recurring or rule.key_field is None:
                check.problem(f"{path}.changed_on", "only an 'every PARAMETER[FIELD] weeks' "
                              "clock is rescheduled when its interval changes",
                              "remove changed_on")
        out[str(name)] = ClockDef(
            changed_on=str(changed_on) if changed_on is not None else None,
            plan=plan, not_before_start=not_before_start,
            first_from=str(first_from) if first_from is not None else None,
            name=str(name), rule=rule, starts=starts, met=met, cancelled=cancelled,
            met_on=str(met_on) if met_on is not None else None,
            owner=str(owner) if owner is not None else None,
            description=str(spec.get("description") or ""),
            alerts=_alerts(spec["alerts"], check, f"{path}.alerts")
            if "alerts" in spec else DEFAULT_ALERTS,
            keyed_by=str(keyed_by) if keyed_by is not None else None,
            label=_words(spec, "label", path, check, 120),
            rule_label=_words(spec, "rule_label", path, check),
            what_to_do=_words(spec, "what_to_do", path, check),
            item_fields=_item_fields(spec, check, path, fields, keyed_by),
        )
    return out


def _plan(raw: Any, check: _Checker, path: str, fields: Mapping[str, FieldDef]) -> PlanDef:
    """``plan: {summary: FIELD, owner: FIELD, reason: FIELD}``: text fields, each optional."""
    spec = check.mapping(raw, path)
    check.unknown_keys(spec, _PLAN_KEYS, path)
    chosen: dict[str, str | None] = {}
    for key in sorted(_PLAN_KEYS):
        value = spec.get(key)
        chosen[key] = None if value is None else str(value)
        if value is not None:
            check.known([str(value)], fields, f"{path}.{key}", "field")
    return PlanDef(summary=chosen["summary"], owner=chosen["owner"], reason=chosen["reason"])


def _item_fields(spec: Mapping[str, Any], check: _Checker, path: str,
                 fields: Mapping[str, FieldDef], keyed_by: Any) -> tuple[str, ...]:
    """The fields that name a keyed deadline's item in emails: known, never personal."""
    names = check.name_list(spec.get("item_fields"), f"{path}.item_fields")
    if names and keyed_by is None:
        check.problem(f"{path}.item_fields", "only a keyed clock has items to name",
                      "add keyed_by, or remove item_fields")
    check.known(names, fields, f"{path}.item_fields", "field")
    for name in names:
        if name in fields and fields[name].personal:
            check.problem(f"{path}.item_fields", f"field '{name}' is personal: emails never "
                          "carry personal data", "name a reference, a date or a summary")
    return names


def _alerts(raw: Any, check: _Checker, path: str) -> tuple[AlertRungDef, ...]:
    """A clock's alert ladder: a list of ``{at: "N working days before|after" | due,
    to: [ROLE | owner | assignee, ...], kind: reminder|due|overdue|escalation}`` (or bare
    ``at`` text)."""
    if not isinstance(raw, list):
        check.problem(path, "alerts must be a list of rungs",
                      "e.g. alerts: [{at: 2 working days before}, {at: due}]")
        return DEFAULT_ALERTS
    rungs: list[AlertRungDef] = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        spec = {"at": item} if isinstance(item, str) else check.mapping(item, where)
        check.unknown_keys(spec, _ALERT_KEYS, where)
        at = " ".join(str(spec.get("at", "")).lower().split())
        match = _RUNG.match(at)
        if at == "due":
            offset = 0
        elif match and len(match.group(1)) <= 4 and int(match.group(1)) <= MAX_AMOUNT:
            offset = int(match.group(1)) * (-1 if match.group(2) == "before" else 1)
        else:
            check.problem(f"{where}.at", f"cannot read alert time '{spec.get('at', '')}'",
                          "write 'N working days before', 'due' or 'N working days after'")
            continue
        default_kind = "reminder" if offset < 0 else "due" if offset == 0 else "overdue"
        kind = str(spec.get("kind", default_kind))
        if kind not in ALERT_KINDS:
            check.problem(f"{where}.kind", f"unknown alert kind '{kind}'"
                          f"{did_you_mean(kind, ALERT_KINDS)}", f"one of {one_of(ALERT_KINDS)}")
            continue
        to = check.name_list(spec.get("to", [OWNER]), f"{where}.to") or (OWNER,)
        check.known([r for r in to if r not in (OWNER, ASSIGNEE)], [*ROLES, ASSIGNEE],
                    f"{where}.to", "role")
        rung = AlertRungDef(offset, kind, to, at)
        if any(r.key == rung.key for r in rungs):
            check.problem(where, f"two rungs at '{at}'", "keep one rung per time")
            continue
        rungs.append(rung)
    return tuple(sorted(rungs, key=lambda r: r.offset))


def _check_anchors(check: _Checker, clocks: Mapping[str, ClockDef],
                   transitions: list[TransitionDef], open_requires: tuple[str, ...],
                   initial: str | None) -> None:
    """A clock's anchor must be a field that opening or some transition requires.

    Whether it has a value when the clock starts depends on the path a case took; the engine
    refuses a fire that would start a clock without its anchor, naming the field to set.
    """
    required = set(open_requires).union(*(t.requires for t in transitions))
    for clock in clocks.values():
        for extra in (clock.rule.key_field, clock.keyed_by):
            if extra is not None and extra not in required:
                check.problem(f"clocks.{clock.name}", f"no step requires field '{extra}', "
                              f"which clock '{clock.name}' reads",
                              "require the field on open or on a transition")
        anchor = clock.rule.anchor
        on_open = OPEN_TRIGGER in clock.starts.fire or initial in clock.starts.enter
        if anchor is not None and on_open and anchor not in open_requires:
            starters = [t.trigger for t in transitions if anchor in t.requires]
            check.problem(f"clocks.{clock.name}.starts",
                          f"clock '{clock.name}' starts when a case opens but counts from "
                          f"'{anchor}', which opening does not require",
                          f"start it with fire: [{', '.join(starters) or 'TRIGGER'}] or "
                          "require the field on open")
        elif anchor is not None and anchor not in required:
            check.problem(f"clocks.{clock.name}.rule",
                          f"no step requires field '{anchor}', so clock '{clock.name}' "
                          "may never be able to start",
                          "require the field on open or on a transition")


class WorkflowRegistry:
    """The definitions found in a folder of YAML files, by name (the current version)."""

    def __init__(self, definitions: Iterable[WorkflowDef]) -> None:
        self._by_name = {d.name: d for d in definitions}

    @classmethod
    def from_directory(cls, folder: str | Path) -> WorkflowRegistry:
        folder = Path(folder)
        problems: list[Problem] = []
        found: list[WorkflowDef] = []
        for path in sorted(folder.glob("*.yaml")):
            try:
                found.append(load_file(path))
            except DefinitionError as exc:
                problems.extend(exc.problems)
        if problems:
            raise DefinitionError(problems)
        return cls(found)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def current(self, name: str) -> WorkflowDef | None:
        """The current version of workflow ``name``; None if there is no such workflow."""
        return self._by_name.get(name)

    def get(self, name: str) -> WorkflowDef:
        from engine.core.errors import UnknownWorkflowError

        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownWorkflowError(name, self._by_name) from None

    def __iter__(self) -> Any:
        return iter(self._by_name.values())
