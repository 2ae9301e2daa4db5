"""Renders a Salt SLS or template the way Salt's default renderer does (jinja, then YAML for
SLS files), with Debian's Jinja2 and PyYAML: Salt itself cannot be installed here.

stdin: {"file": PATH, "yaml": BOOL, "pillar": {...}, "grains": {...}, "opts": {...}}
stdout: {"text": RENDERED, "data": PARSED-YAML-OR-NULL}
"""

import json
import sys

import jinja2
import yaml

request = json.load(sys.stdin)
with open(request["file"], encoding="utf-8") as source:
    template_text = source.read()
# Stricter than Salt: a pillar key the template reads but the pillar lacks is an error here.
environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
text = environment.from_string(template_text).render(
    pillar=request.get("pillar", {}), grains=request.get("grains", {}), opts=request.get("opts", {})
)
json.dump({"text": text, "data": yaml.safe_load(text) if request.get("yaml") else None}, sys.stdout)
