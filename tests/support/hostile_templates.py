"""Hostile templates: each one escaped the old sandbox, stalled the process, or tries to.

Each entry says what must happen: ``REJECTED`` (``POST /v1/messages/telegram``
answers 400) or ``FAILS`` (the template is accepted, and every send of it ends as
``ERROR / TEMPLATE_ERROR``). Used by test_template_sandbox.py (the renderer alone)
and test_hostile_templates_e2e.py (through the API, the worker and the fake Telegram).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

REJECTED = "rejected"
FAILS = "fails"


@dataclass(frozen=True)
class Hostile:
    id: str
    text: str
    expect: str
    json_param: str | None = None


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def macro_bomb(levels: int = 20, leaf: str = "x") -> str:
    """20 macros, each calling the next twice: 2**19 calls of the last (writing ``leaf``)."""
    names = [f"m{i}" for i in range(levels)]
    parts = [
        f"#macro({names[i]} $x)#{names[i + 1]}($x)#{names[i + 1]}($x)#end"
        for i in range(levels - 1)
    ]
    parts.append(f"#macro({names[-1]} $x){leaf}#end")
    return "".join(parts) + f"#{names[0]}(1)"


_SSTI = "$n.__class__.__base__.__subclasses__()"
_DEEP_JSON = json.dumps({"d": json.loads(_nested(600))})
_EVIL_DATA = json.dumps({"s": "a" * 40 + "c", "fmt": "%s {0.__class__}", "l": [1, 2]})

HOSTILE: list[Hostile] = [
    # Attribute chains to Python internals, in every place an expression can stand.
    Hostile("ssti-if-paren", f"#if(({_SSTI}))x#end", REJECTED),
    Hostile("ssti-if", "#if($data.__class__)x#end", REJECTED),
    Hostile("ssti-elseif", f"#if(false)a#elseif(({_SSTI}))b#end", REJECTED),
    Hostile("ssti-foreach", f"#foreach($c in {_SSTI})$c#end", REJECTED),
    Hostile("ssti-set", "#set($x = $data.__class__)$x", REJECTED),
    Hostile("ssti-set-paren", "#set($x = ($data.get.__globals__))$x", REJECTED),
    Hostile("ssti-set-target", "#set($data.__dict__ = 1)x", REJECTED),
    Hostile("ssti-macro-body", "#macro(m $a)$a.__class__#end#m($data)", REJECTED),
    Hostile("ssti-macro-arg", "#macro(m $a)$a#end#m($data.__class__)", REJECTED),
    Hostile("ssti-interpolation", '#set($s = "$data.__class__.__mro__")$s', REJECTED),
    Hostile("ssti-map-literal", '#set($m = {"k": $data.__init__})$m', REJECTED),
    Hostile("ssti-list-literal", "#set($l = [$data.__class__])$l", REJECTED),
    Hostile("ssti-index", "$data['__class__'].__base__", REJECTED),
    Hostile("ssti-braces", "${data.__class__}", REJECTED),
    Hostile("ssti-builtins", "$data.get('s').__globals__.__builtins__", REJECTED),
    Hostile("ssti-alternate", "${data.x|$data.__class__}", REJECTED),
    Hostile("ssti-bound-method", "$data.get.__self__", REJECTED),
    Hostile("ssti-unicode-lookalike", "$data.get('s').__clas\u0455__", REJECTED),
    # Java reflection, as a Java Velocity exploit would try.
    Hostile("java-getclass", "$data.getClass()", REJECTED),
    Hostile("java-class", "$data.class.forName('java.lang.Runtime')", REJECTED),
    Hostile(
        "java-runtime-exec",
        "$data.getClass().forName('java.lang.Runtime').getRuntime().exec('id')",
        REJECTED,
    ),
    # Python methods that are not on the list.
    Hostile("py-format", "$data.get('s').format('{0.__class__}')", REJECTED),
    Hostile("py-format-map", "$data.get('fmt').format_map($data)", REJECTED),
    Hostile("py-mro", "$data.mro()", REJECTED),
    Hostile("py-encode", "$data.get('s').encode('utf-8')", REJECTED),
    Hostile("py-dict-items", "$data.items()", REJECTED),
    Hostile("py-setdefault", "$data.setdefault('x', 1)", REJECTED),
    Hostile("py-zfill", "$data.get('s').zfill(300000000)", REJECTED),
    Hostile("py-center", "$data.get('s').center(300000000)", REJECTED),
    Hostile("py-ljust", "$data.get('s').ljust(300000000)", REJECTED),
    Hostile("py-list-pop", "$data.get('l').pop()", REJECTED),
    # Directives that read files or evaluate strings.
    Hostile("evaluate", "#evaluate('$data.get(\"s\")')", REJECTED),
    Hostile("include", "#include('/etc/passwd')", REJECTED),
    Hostile("parse", "#parse('/etc/passwd')", REJECTED),
    Hostile("define", "#define($x)$data#end$x", REJECTED),
    # %-formatting and format strings on user data: numbers only.
    Hostile("percent-format", "#set($x = '%s' % $data)$x", FAILS, _EVIL_DATA),
    Hostile("percent-format-data", "#set($x = $data.get('fmt') % $data)$x", FAILS, _EVIL_DATA),
    # Memory bombs.
    Hostile("mem-str-mul", "#set($x = 'a' * 300000000)$x", FAILS),
    Hostile("mem-list-mul", "#set($x = [1] * 300000000)$x", FAILS),
    Hostile(
        "mem-doubling", "#set($s = 'a')#foreach($i in [1..40])#set($s = \"$s$s\")#end$s", FAILS
    ),
    Hostile(
        "mem-concat", "#set($s = 'a')#foreach($i in [1..40])#set($s = $s.concat($s))#end$s", FAILS
    ),
    Hostile(
        "mem-replace",
        "#set($s = 'ab')#foreach($i in [1..40])#set($s = $s.replace('a', 'aa'))#end$s",
        FAILS,
    ),
    Hostile(
        "mem-self-list", "#set($l = [])#foreach($i in [1..100])#set($d = $l.add($l))#end$l", FAILS
    ),
    Hostile(
        "mem-map-growth",
        '#set($m = {})#foreach($i in [1..10000])#set($d = $m.put("$i", "$m"))#end$m',
        FAILS,
    ),
    Hostile("int-bomb", "#set($x = 2)#foreach($i in [1..40])#set($x = $x * $x)#end$x", FAILS),
    # Work bombs.
    Hostile("macro-bomb", macro_bomb(), FAILS),
    Hostile("macro-recursion", "#macro(r $n)#r($n)#end#r(1)", FAILS),
    Hostile("huge-range", "#foreach($i in [1..2000000000])#end x", FAILS),
    Hostile(
        "nested-loops", "#foreach($i in [1..10000])#foreach($j in [1..10000])#end#end x", FAILS
    ),
    Hostile("output-bomb", "#foreach($i in [1..10000])" + "x" * 100 + "#end", FAILS),
    # Regular expressions with catastrophic backtracking on user data.
    Hostile("redos-matches", "$data.get('s').matches('(a|aa)+b')", FAILS, _EVIL_DATA),
    Hostile("redos-replace-all", "$data.get('s').replaceAll('(a|aa)+b', 'x')", FAILS, _EVIL_DATA),
    Hostile("redos-split", "$data.get('s').split('(a|aa)+b')", FAILS, _EVIL_DATA),
    # Deep recursion, in the data and in the template.
    Hostile("deep-json", "$data.get('d')", FAILS, _DEEP_JSON),
    Hostile("deep-json-foreach", "#foreach($x in $data.get('d'))$x#end", FAILS, _DEEP_JSON),
    Hostile("deep-template", "#if(true)" * 250 + "x" + "#end" * 250, REJECTED),
    Hostile("deep-parens", "#set($x = " + "(" * 400 + "1" + ")" * 400 + ")$x", REJECTED),
]
