"""The AWX survey specifications (playbooks/awx_surveys/*.json) against AWX's own rules for a survey spec (as its
API checks a POST to /api/v2/job_templates/N/survey_spec/), and against ours: survey-safe variable names that the
playbook really reads, and a typed-again namespace name for what changes which copy is the primary."""

import glob
import json
import keyword
import os
import re

import pytest
import yaml
from ansible.vars.reserved import get_reserved_names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
SURVEYS = os.path.join(ROOT, "playbooks", "awx_surveys")
ALLOWED_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                 "integer": int, "float": float}
# They move a namespace's primary, or delete one: the name is typed again (required, or for del only).
DESTRUCTIVE = {"failover": True, "failback": True, "namespace": False, "restore": True}
# site.yml's own variables, set on purpose from its survey.
INVENTORY_VARS = {"replication_primary_move_to", "replication_variant_from"}


def awx_errors(spec):
    """AWX's checks of a survey spec (awx/api/views JobTemplateSurveySpec._validate_spec_data), as a list."""
    errors = []
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(spec.get(field), kind):
            errors.append("field %r missing or not %s" % (field, kind.__name__))
    if errors:
        return errors
    if not spec["spec"]:
        errors.append("'spec' doesn't contain any items")
    seen = set()
    for idx, item in enumerate(spec["spec"]):
        if not isinstance(item, dict):
            errors.append("question %d is not an object" % idx)
            continue
        for field in ("type", "question_name", "variable", "required"):
            if field not in item:
                errors.append("%r missing from question %d" % (field, idx))
            elif not isinstance(item[field], bool if field == "required" else str):
                errors.append("%r in question %d has the wrong type" % (field, idx))
        if errors:
            continue
        if item["variable"] in seen:
            errors.append("variable %r duplicated in question %d" % (item["variable"], idx))
        seen.add(item["variable"])
        qtype = item["type"]
        if qtype not in ALLOWED_TYPES:
            errors.append("type %r of question %d not allowed" % (qtype, idx))
            continue
        if item.get("default", "") != "" and not isinstance(item["default"], ALLOWED_TYPES[qtype]):
            errors.append("default of question %d is not %s" % (idx, qtype))
        for key in ("min", "max"):
            if item.get(key) is not None and not isinstance(item[key], int):
                errors.append("%s of question %d is not an integer" % (key, idx))
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                errors.append("question %d of type %s must specify choices" % (idx, qtype))
                continue
            choices = item["choices"].splitlines() if isinstance(item["choices"], str) else item["choices"]
            defaults = item.get("default", "")
            defaults = [d for d in defaults.splitlines() if d.strip()] if isinstance(defaults, str) else defaults
            if qtype == "multiplechoice" and len(defaults) > 1:
                errors.append("question %d: a single choice has one default" % idx)
            if any(d not in choices for d in defaults):
                errors.append("question %d: default not among the choices" % idx)
        if isinstance(item.get("default"), str) and item["default"].startswith("$encrypted$"):
            errors.append("question %d: $encrypted$ is reserved" % idx)
    return errors


def surveys():
    return sorted(glob.glob(os.path.join(SURVEYS, "*.json")))


def load(path):
    with open(path) as handle:
        return json.load(handle)


def test_the_checks_catch_what_awx_refuses():
    good = {"name": "x", "description": "", "spec": [
        {"question_name": "q", "variable": "swarmdata_a", "required": True, "type": "multiplechoice",
         "choices": ["a", "b"], "default": "a"}]}
    assert awx_errors(good) == []
    bad = json.loads(json.dumps(good))
    bad["spec"][0]["default"] = "c"
    assert awx_errors(bad)
    bad["spec"] = []
    assert awx_errors(bad)
    assert awx_errors({"name": "x", "spec": []})
    question = {"question_name": "q", "variable": "v", "required": "yes", "type": "text"}
    assert awx_errors({"name": "x", "description": "", "spec": [question]})  # required is not a boolean
    question.update(required=True, type="boolean")
    assert awx_errors({"name": "x", "description": "", "spec": [question]})  # no such type


@pytest.mark.parametrize("path", surveys(), ids=os.path.basename)
def test_each_survey_is_what_awx_accepts(path):
    assert awx_errors(load(path)) == []


@pytest.mark.parametrize("path", surveys(), ids=os.path.basename)
def test_each_survey_asks_survey_safe_names_its_playbook_reads(path):
    name = os.path.basename(path)[:-5]
    playbook = os.path.join(ROOT, "site.yml" if name == "site" else os.path.join("playbooks", name + ".yml"))
    with open(os.path.join(ROOT, "playbooks", name + ".yml")) as handle:
        text = handle.read()
    assert os.path.exists(playbook)
    reserved = get_reserved_names()
    for item in load(path)["spec"]:
        var = item["variable"]
        assert re.match(r"^[a-z][a-z0-9_]*$", var) and not keyword.iskeyword(var), var
        assert var not in reserved, var  # Ansible warns about (and may ignore) a reserved name such as 'namespace'
        assert var.startswith("swarmdata_") or var in INVENTORY_VARS, var
        assert re.search(r"\b%s\b" % re.escape(var), text), "%s does not read %s" % (name, var)
        assert item.get("type") != "password" or item.get("default", "") == ""


@pytest.mark.parametrize("name", sorted(DESTRUCTIVE))
def test_what_moves_a_primary_asks_the_namespace_again_and_the_playbook_checks_it(name):
    spec = {q["variable"]: q for q in load(os.path.join(SURVEYS, name + ".json"))["spec"]}
    assert spec["swarmdata_confirm"]["required"] == spec["swarmdata_namespace"]["required"] == DESTRUCTIVE[name]
    with open(os.path.join(ROOT, "playbooks", name + ".yml")) as handle:
        text = handle.read()
    # restore.yml: the namespace restored into (itself, or another one given as into).
    assert re.search(r"swarmdata_typed == (\(swarmdata_into or )?swarmdata_ns", text)
    assert "lookup('ansible.builtin.vars', 'swarmdata_confirm'" in text
    assert "awx_job_id is not defined" in text or "swarmdata_verb != 'del' or swarmdata_typed" in text


def test_awx_setup_creates_a_template_for_each_survey_and_playbook():
    with open(os.path.join(ROOT, "playbooks", "awx_setup.yml")) as handle:
        play = yaml.safe_load(handle)[0]
    templates = play["vars"]["awx_job_templates"]
    named = {t["survey"] for t in templates if t["survey"]}
    assert named == {os.path.basename(p)[:-5] for p in surveys()}
    for t in templates:
        assert os.path.exists(os.path.join(ROOT, t["playbook"])), t
    assert {"site", "status", "check_replication", "snapshot", "failover", "failback", "namespace"} <= {
        t["name"] for t in templates}
