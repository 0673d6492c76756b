#!/usr/bin/env python3
"""llm_server.py — a local, scriptable stand-in for the Anthropic Messages and
OpenAI Chat Completions APIs, for Weft's HTTP integration tests and the
effect-engine benchmark. Python 3 standard library only (asyncio: one task
per connection, no thread per request, so it holds 500+ slow connections).

    python3 tests/lib/llm_server.py --port 0 --port-file FILE [--seed N] [--verbose]

(tests/lib/README.md says the same for readers, with a table of faults.)

binds 127.0.0.1, writes the chosen port to FILE once listening, and exits
cleanly on SIGTERM/SIGINT. Wire formats follow /work/shared/design/PROVIDERS.md
(docs/providers.md): SSE with `event:` lines for Anthropic, `data: [DONE]` for
OpenAI, a usage chunk when stream_options.include_usage is true.

Endpoints
  POST /v1/messages            Anthropic (key in x-api-key or Authorization: Bearer)
  POST /v1/chat/completions    OpenAI    (key in Authorization: Bearer)
  GET  /_stats                 {"requests","by_path","in_flight","max_in_flight",
                                "connections","max_connections","attempts_by_prompt",
                                "completed_by_prompt","repairs_by_prompt",
                                "retry_counts_by_prompt","repairs","retries","span_ms",
                                "arrival_spread_ms","first_arrival_unix_ms","body_bytes",
                                "max_body_bytes","sampling"}
  GET  /_stats/NAME            one field of the above, e.g. /_stats/requests -> 3
  POST /_reset                 zeroes the statistics
A missing key gets 401 with the provider's error body. The server never
prints a key (nor any request header); --verbose logs method, path, model
and status only.

MODEL-NAME GRAMMAR (what the request asks for is chosen by its model name,
statelessly, so tests need no set-up calls):

  model  = part *( "+" part )          e.g. "fault-429-then-ok+slow-50"
  part   = "fault-" KIND [ "-" N ] [ "-then-ok" ]
         | "slow-" MS                  delay MS ms before answering
         | "jitter-" MIN "-" MAX       delay uniformly in [MIN, MAX] ms, chosen
                                       from hash(--seed, prompt, attempt)
         | "huge-" SIZE ("mb"|"kb")    a text reply of that many bytes
         | "usage-" N                  the reply reports N input tokens
         | "crlf"                      SSE lines end in \\r\\n
         | "split"                     SSE bytes are written in 5-byte pieces
         | "tools-" N | "tools"        the first N steps (1) answer with tool calls
         | "tooltext"                  a tool-call reply starts with a text block
         | "program"                   a text reply that is a Weft program in a
                                       ```weft block: main(task: string, input:
                                       json) -> string, the planner of `weft do`
         | "history"                   the answer after tool results quotes every
                                       tool result of the conversation, in order
                                       (and a string argument is "step N")
         | anything else               ignored (a normal model name: ok reply)

  A fault applies to attempts 0..N-1 and then the request succeeds; without
  N it applies to every attempt, and "-then-ok" alone means N = 1. The
  attempt number is the `x-stainless-retry-count` header (0 first), which
  the client sends on each transport retry. Content faults (marked R below:
  the 200 reply is bad, so the client REPAIRS rather than retries) count
  instead the assistant turns already in `messages` (0 on the first ask, 1 on
  the first repair, ...). Without the header, the server falls back to its own
  count of earlier requests with the same model and prompt.

  KIND        what the server does
  429         429 rate_limit_error, retry-after: 1
  429ms       429, retry-after-ms: 50 and retry-after: 30 (the ms header wins)
  429date     429, retry-after as an HTTP date 2 s ahead
  429long     429, retry-after: 300 (OpenAI SDK: no retry; Anthropic: backoff)
  503         503 (overloaded / api_error)
  529         529 Anthropic overloaded_error body (OpenAI-shaped body on /v1/chat)
  500         500 api_error / server_error
  500noretry  500 with x-should-retry: false
  400retry    400 with x-should-retry: true
  400         400 invalid_request_error
  401         401 authentication_error / invalid_api_key; the OpenAI body echoes
              the key's first 8 and last 4 characters, as the real API does
  echokey     400 whose message quotes the whole API key (a hostile proxy)
  404         404 not_found_error / model_not_found
  reset       close the connection (TCP RST) without answering
  stall       read the request, never answer (until the client hangs up)
  malformed   200 whose JSON body (or SSE data) is cut and unparsable
  truncate    200 stream that ends cleanly (HTTP-wise) without
              message_stop / [DONE]; non-streaming: a body shorter than its
              Content-Length, then the connection closes
  midstream   200 stream with some text, then an error event
              (Anthropic `event: error` overloaded_error; OpenAI data {"error":..})
  badschema R the reply is JSON that violates the requested schema
  notjson   R the reply text is not JSON at all
  refusal   R Anthropic stop_reason "refusal"; OpenAI message.refusal set
  empty     R an empty reply (no content blocks / content "")
  badutf8   R the reply text contains invalid UTF-8 bytes
  maxtokens R stop_reason max_tokens / finish_reason length, text cut short
  nousage   R a reply without any usage (no usage object, no usage chunk)
  negusage  R a reply whose usage counts are negative
  hugeusage R a reply claiming 10^12 input and output tokens
  vllm        400 vLLM flat body {"object":"error","message",..,"code":400}
  vllm401     401 vLLM body {"error":"Unauthorized"} (error is a string)
  llamacpp    400 llama.cpp body {"error":{"code":400,"message","type"}}
  llamacpp503 503 llama.cpp {"error":{"code":503,...,"type":"unavailable_error"}}
  html502     502 with an HTML page (a proxy in the way)
  toolbadjson T the first tool call's arguments are cut JSON
  toolarray T the first tool call's arguments are a JSON array
  tooltrailing T the first tool call's arguments are an object and then more bytes
  toolnoid  T the first tool call has no id
  toolunknown T the first tool call names no_such_tool
  toolhuge  T the first tool call's arguments are 2 MB
  (T: applies when tools are offered, counted by the steps already made:
  assistant turns with tool calls, which are not repairs.)

Tools (tests/lib/README.md, "Tools"): tool definitions and tool turns are
checked as the real APIs check them, with their 400 bodies; "tools-N"
answers the first N steps with one call per offered tool (arguments from
its schema), streamed as input_json_delta / delta.tool_calls fragments; the
answer after tool results is "echo: PROMPT | tool results: R1; R2".

Replies. Without a schema, the text is "echo: " + the first 60 characters of
the first user message. With a schema (Anthropic output_config.format.schema
or the beta output_format.schema; OpenAI response_format.json_schema.schema)
the text is JSON generated from the schema: objects get every property, enum
the first member, const its value, strings "text", integers 1, numbers 1.5,
booleans true, arrays 2 items, anyOf/oneOf/type lists the first non-null
branch, $ref into #/$defs or #/definitions is followed.

The "prompt" that keys attempts_by_prompt is the text of the first user
message (cut to 300 characters). completed_by_prompt counts, by the same key,
the responses (any status) whose last byte was handed to the connection: a
request whose client hung up first (a killed process), or that was reset,
stalled or truncated, is an attempt but not a completed response.
body_bytes lists the size in bytes of each model request body since the reset
(the first 1000), max_body_bytes the largest. sampling lists, for the first
100 requests, the path and the sampling fields their body carried
(temperature, top_p, max_tokens, max_completion_tokens, stop, stop_sequences).
first_arrival_unix_ms is the wall-clock time (Unix ms, time.time()) at which the
first model request since the reset arrived, or null: a client on the same
machine can compare it with its own clock.
"""

import argparse
import asyncio
import email.utils
import hashlib
import json
import os
import random
import signal
import socket
import struct
import sys
import time
import traceback

ANTHROPIC_PATH = "/v1/messages"
OPENAI_PATH = "/v1/chat/completions"
MAX_BODY = 64 * 1024 * 1024

# Content faults are judged by the repair index, the others by the retry count.
CONTENT_FAULTS = {"badschema", "notjson", "refusal", "empty", "badutf8", "maxtokens",
                  "nousage", "negusage", "hugeusage"}
# Tool-call faults: the reply is a tool call with a defect. They count the
# steps (assistant turns that made calls) already in `messages`.
TOOL_FAULTS = {"toolbadjson", "toolarray", "tooltrailing", "toolnoid", "toolunknown", "toolhuge"}
KNOWN_FAULTS = CONTENT_FAULTS | TOOL_FAULTS | {
    "429", "429ms", "429date", "429long", "503", "529", "500", "500noretry",
    "400retry", "400", "401", "echokey", "404", "reset", "stall", "malformed",
    "truncate", "midstream", "vllm", "vllm401", "llamacpp", "llamacpp503", "html502",
}


class Stats:
    """Counters for /_stats; everything is touched only from the event loop."""

    def __init__(self):
        self.reset()

    def reset(self):
        # Open connections outlive a reset; only the counters start again.
        self.connections = getattr(self, "connections", 0)
        self.max_connections = self.connections
        self.requests = 0
        self.by_path = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.attempts_by_prompt = {}
        self.completed_by_prompt = {}  # responses written in full
        self.repairs_by_prompt = {}
        self.retry_counts_by_prompt = {}
        self.repairs = 0           # requests carrying an earlier assistant turn
        self.retries = 0           # requests with x-stainless-retry-count > 0
        self.by_model_prompt = {}  # fallback attempt numbers when no retry header
        self.t_first = None        # first model request since the reset (monotonic s)
        self.t_last = None         # end of the latest model request
        self.t_last_arrival = None # arrival of the latest model request
        self.first_arrival_unix_ms = None  # t_first on the wall clock
        self.body_bytes = []       # request body sizes, the first 1000
        self.max_body_bytes = 0
        self.sampling = []         # sampling fields of the first 100 bodies

    def to_json(self):
        return {
            "requests": self.requests,
            "by_path": self.by_path,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "connections": self.connections,
            "max_connections": self.max_connections,
            "attempts_by_prompt": self.attempts_by_prompt,
            "completed_by_prompt": self.completed_by_prompt,
            "repairs_by_prompt": self.repairs_by_prompt,
            "retry_counts_by_prompt": self.retry_counts_by_prompt,
            "repairs": self.repairs,
            "retries": self.retries,
            # From the first model request's arrival to the last reply's end:
            # what this server itself took to serve a batch.
            "span_ms": round((self.t_last - self.t_first) * 1000, 1)
            if self.t_first is not None and self.t_last is not None else 0,
            # From the first model request's arrival to the last one's.
            "arrival_spread_ms": round((self.t_last_arrival - self.t_first) * 1000, 1)
            if self.t_first is not None else 0,
            "first_arrival_unix_ms": self.first_arrival_unix_ms,
            "body_bytes": self.body_bytes,
            "max_body_bytes": self.max_body_bytes,
            "sampling": self.sampling,
        }


# ---- parsing the model name ------------------------------------------------

class Plan:
    """What one request asks for, from its model name."""

    def __init__(self):
        self.faults = []      # (kind, n or None)
        self.slow_ms = 0
        self.jitter = None    # (min, max)
        self.huge = 0         # bytes
        self.usage_in = None  # input tokens to report instead of the estimate
        self.crlf = False
        self.split = False
        self.tool_steps = 0   # steps that answer with tool calls ("tools-N")
        self.tool_text = False  # a text block before the calls ("tooltext")
        self.program = False  # the text reply is a Weft program ("program")
        self.history = False    # the answer quotes every tool result ("history")


def parse_model(model):
    plan = Plan()
    for part in model.split("+"):
        toks = part.split("-")
        try:
            if toks[0] == "fault" and len(toks) >= 2 and toks[1] in KNOWN_FAULTS:
                kind, rest = toks[1], toks[2:]
                n = None
                if rest and rest[0].isdigit():
                    n = int(rest[0])
                    rest = rest[1:]
                if rest == ["then", "ok"] and n is None:
                    n = 1
                plan.faults.append((kind, n))
            elif toks[0] == "slow" and len(toks) == 2:
                plan.slow_ms = int(toks[1])
            elif toks[0] == "jitter" and len(toks) == 3:
                plan.jitter = (int(toks[1]), int(toks[2]))
            elif toks[0] == "usage" and len(toks) == 2:
                plan.usage_in = int(toks[1])
            elif toks[0] == "huge" and len(toks) == 2:
                size = toks[1].lower()
                if size.endswith("mb"):
                    plan.huge = int(size[:-2]) * 1000 * 1000
                elif size.endswith("kb"):
                    plan.huge = int(size[:-2]) * 1000
            elif toks[0] == "tools" and len(toks) <= 2:
                plan.tool_steps = int(toks[1]) if len(toks) == 2 else 1
            elif part == "tooltext":
                plan.tool_text = True
            elif part == "program":
                plan.program = True
            elif part == "history":
                plan.history = True
            elif part == "crlf":
                plan.crlf = True
            elif part == "split":
                plan.split = True
        except ValueError:
            pass  # not ours: an ordinary model name
    return plan


def active_fault(plan, retry_count, repair_index, step=0):
    """The first fault that applies to this attempt, or None."""
    for kind, n in plan.faults:
        counter = step if kind in TOOL_FAULTS else \
            repair_index if kind in CONTENT_FAULTS else retry_count
        if n is None or counter < n:
            return kind
    return None


# ---- requests --------------------------------------------------------------

def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for block in content:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                out.append(block["text"])
        return "".join(out)
    return ""


def first_user_text(messages):
    for m in messages if isinstance(messages, list) else []:
        if isinstance(m, dict) and m.get("role") == "user":
            return text_of(m.get("content"))
    return ""


def makes_calls(m):
    """An assistant message that made tool calls (either format)."""
    if m.get("tool_calls"):
        return True
    c = m.get("content")
    return isinstance(c, list) and any(isinstance(b, dict) and b.get("type") == "tool_use"
                                       for b in c)


def assistant_turns(messages):
    """Assistant turns without tool calls: the repairs so far."""
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant"
               and not makes_calls(m)) if isinstance(messages, list) else 0


def tool_steps_done(messages):
    """Assistant turns that made tool calls: the steps of a tool loop so far."""
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant"
               and makes_calls(m)) if isinstance(messages, list) else 0


def tool_results(path, messages, every=False):
    """The texts of the tool results in the last turn (either format), or
    with every, of all the turns in order."""
    out = []
    if not isinstance(messages, list):
        return out
    if every:
        for m in messages:
            if not isinstance(m, dict):
                continue
            if path != ANTHROPIC_PATH:
                if m.get("role") == "tool":
                    out.append(text_of(m.get("content")))
                continue
            c = m.get("content") if m.get("role") == "user" else None
            for b in c if isinstance(c, list) else []:
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    out.append(("error: " if b.get("is_error") else "") + text_of(b.get("content")))
        return out
    if path == ANTHROPIC_PATH:
        last = messages[-1] if messages else None
        c = last.get("content") if isinstance(last, dict) and last.get("role") == "user" else None
        for b in c if isinstance(c, list) else []:
            if isinstance(b, dict) and b.get("type") == "tool_result":
                out.append(("error: " if b.get("is_error") else "") + text_of(b.get("content")))
        return out
    for m in reversed(messages):
        if not (isinstance(m, dict) and m.get("role") == "tool"):
            break
        out.insert(0, text_of(m.get("content")))
    return out


def offered_tools(path, req):
    """[(name, parameters schema)] of the request's tools."""
    out = []
    for t in req.get("tools") if isinstance(req.get("tools"), list) else []:
        if not isinstance(t, dict):
            continue
        if path == ANTHROPIC_PATH:
            out.append((t.get("name"), t.get("input_schema")))
        elif isinstance(t.get("function"), dict):
            out.append((t["function"].get("name"), t["function"].get("parameters")))
    return out


# ---- what the real APIs reject about tools (their 400 messages) -------------

TOOL_NAME_RE = __import__("re").compile(r"^[a-zA-Z0-9_-]{1,64}$")
OPENAI_NAME_RE = __import__("re").compile(r"^[a-zA-Z0-9_-]+$")


def anthropic_tool_rejection(req):
    """The message of the 400 Anthropic gives for the request's tools and
    tool turns, or None."""
    tools = req.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        names = set()
        for i, t in enumerate(tools):
            if not isinstance(t, dict):
                return "tools.%d: Input should be a valid dictionary" % i
            name = t.get("name")
            if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
                return "tools.%d.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'" % i
            if "input_schema" not in t:
                return "tools.%d.custom.input_schema: Field required" % i
            sch = t["input_schema"]
            if not isinstance(sch, dict) or sch.get("type") != "object":
                return "tools.%d.custom.input_schema.type: Input should be 'object'" % i
            if name in names:
                return "tools: Tool names must be unique."
            names.add(name)
    messages = req.get("messages")
    if not isinstance(messages, list):
        return None
    prev_ids = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        c = m.get("content")
        blocks = c if isinstance(c, list) else []
        for k, b in enumerate(blocks):
            if isinstance(b, dict) and b.get("type") == "text" and b.get("text") == "":
                return "messages: text content blocks must be non-empty"
        if m.get("role") == "user":
            seen = []
            for k, b in enumerate(blocks):
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    tid = b.get("tool_use_id")
                    if tid not in prev_ids:
                        return ("messages.%d.content.%d: unexpected `tool_use_id` found in "
                                "`tool_result` blocks: %s. Each `tool_result` block must have a "
                                "corresponding `tool_use` block in the previous message."
                                % (i, k, tid))
                    seen.append(tid)
            missing = [x for x in prev_ids if x not in seen]
            if missing:
                return ("messages.%d: `tool_use` ids were found without `tool_result` blocks "
                        "immediately after: %s. Each `tool_use` block must have a corresponding "
                        "`tool_result` block in the next message." % (i - 1, ", ".join(missing)))
            prev_ids = []
        elif m.get("role") == "assistant":
            if prev_ids:
                return ("messages.%d: `tool_use` ids were found without `tool_result` blocks "
                        "immediately after: %s. Each `tool_use` block must have a corresponding "
                        "`tool_result` block in the next message." % (i - 1, ", ".join(prev_ids)))
            prev_ids = []
            for k, b in enumerate(blocks):
                if isinstance(b, dict) and b.get("type") == "tool_use":
                    if not isinstance(b.get("input"), dict):
                        return "messages.%d.content.%d.tool_use.input: Input should be a valid " \
                            "dictionary" % (i, k)
                    if not isinstance(b.get("id"), str) or not b["id"]:
                        return "messages.%d.content.%d.tool_use.id: Field required" % (i, k)
                    prev_ids.append(b["id"])
    if prev_ids:
        return ("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately "
                "after: %s. Each `tool_use` block must have a corresponding `tool_result` block "
                "in the next message." % (len(messages) - 1, ", ".join(prev_ids)))
    return None


def openai_tool_rejection(req):
    """(message, param, code) of the 400 OpenAI gives for the request's
    tools and tool turns, or None."""
    tools = req.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return ("Invalid type for 'tools': expected an array, but got %s instead."
                    % type(tools).__name__, "tools", "invalid_type")
        for i, t in enumerate(tools):
            fn = t.get("function") if isinstance(t, dict) else None
            if not isinstance(t, dict) or t.get("type") != "function" or not isinstance(fn, dict):
                return ("Missing required parameter: 'tools[%d].function'." % i,
                        "tools[%d].function" % i, "missing_required_parameter")
            name = fn.get("name")
            if not isinstance(name, str) or not OPENAI_NAME_RE.match(name):
                return ("Invalid 'tools[%d].function.name': string does not match pattern. Expected "
                        "a string that matches the pattern '^[a-zA-Z0-9_-]+$'." % i,
                        "tools[%d].function.name" % i, "invalid_value")
            if len(name) > 64:
                return ("Invalid 'tools[%d].function.name': string too long. Expected a string with "
                        "maximum length 64, but got a string with length %d instead."
                        % (i, len(name)), "tools[%d].function.name" % i, "string_above_max_length")
            if "parameters" in fn and not isinstance(fn["parameters"], dict):
                return ("Invalid type for 'tools[%d].function.parameters': expected an object, but "
                        "got %s instead." % (i, type(fn["parameters"]).__name__),
                        "tools[%d].function.parameters" % i, "invalid_type")
    messages = req.get("messages")
    if not isinstance(messages, list):
        return None
    pending, open_ids, owner = [], [], None
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role == "tool":
            tid = m.get("tool_call_id")
            if not isinstance(tid, str):
                return ("Missing parameter 'tool_call_id': messages with role 'tool' must have a "
                        "'tool_call_id'.", "messages.[%d].tool_call_id" % i,
                        "missing_required_parameter")
            if tid not in open_ids:
                return ("Invalid parameter: messages with role 'tool' must be a response to a "
                        "preceeding message with 'tool_calls'.", "messages.[%d].role" % i, None)
            if tid in pending:
                pending.remove(tid)
            continue
        if pending:
            return ("An assistant message with 'tool_calls' must be followed by tool messages "
                    "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                    "response messages: %s" % ", ".join(pending), "messages.[%d].role" % owner,
                    None)
        open_ids = []
        calls = m.get("tool_calls") if role == "assistant" else None
        if calls:
            for k, c in enumerate(calls if isinstance(calls, list) else []):
                fn = c.get("function") if isinstance(c, dict) else None
                where = "messages[%d].tool_calls[%d]" % (i, k)
                if not isinstance(fn, dict) or not isinstance(c.get("id"), str):
                    return ("Missing required parameter: '%s.id'." % where, where + ".id",
                            "missing_required_parameter")
                if not isinstance(fn.get("arguments"), str):
                    return ("Invalid type for '%s.function.arguments': expected a string, but got "
                            "%s instead." % (where, "an object" if isinstance(fn.get("arguments"), dict)
                                             else type(fn.get("arguments")).__name__),
                            where + ".function.arguments", "invalid_type")
                open_ids.append(c["id"])
            pending, owner = list(open_ids), i
    if pending:
        return ("An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                "response messages: %s" % ", ".join(pending), "messages.[%d].role" % owner, None)
    return None


def requested_schema(path, req):
    if path == ANTHROPIC_PATH:
        for holder in (req.get("output_config"), req):
            if isinstance(holder, dict):
                fmt = holder.get("format") if holder is not req else holder.get("output_format")
                if isinstance(fmt, dict) and isinstance(fmt.get("schema"), (dict, bool)):
                    return fmt["schema"]
        return None
    rf = req.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        js = rf.get("json_schema")
        if isinstance(js, dict) and isinstance(js.get("schema"), (dict, bool)):
            return js["schema"]
    return None


# Keywords each API's structured output refuses (docs/providers.md,
# "Constrained types"). Anthropic's strict schemas take no numeric, length
# or item-count bound (minItems only 0 or 1); OpenAI strict mode takes
# minimum/maximum/multipleOf and minItems/maxItems, but no string length.
ANTHROPIC_REFUSED = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                     "minLength", "maxLength", "maxItems", "uniqueItems", "minProperties",
                     "maxProperties")
OPENAI_REFUSED = ("minLength", "maxLength", "uniqueItems", "minProperties", "maxProperties",
                  "patternProperties", "unevaluatedProperties")


def schema_rejection(path, req, schema):
    """The message of the 400 the real API gives for a schema keyword it
    refuses, or None. Walks every subschema ($defs included)."""
    anthropic = path == ANTHROPIC_PATH
    if anthropic:
        holder = "output_config.format.schema" if isinstance(req.get("output_config"), dict) \
            else "output_format.schema"
    refused = ANTHROPIC_REFUSED if anthropic else OPENAI_REFUSED
    stack, seen = [(schema, ())], 0
    while stack and seen < 100000:
        node, ctx = stack.pop()
        seen += 1
        if isinstance(node, list):
            stack.extend((x, ctx) for x in node)
            continue
        if not isinstance(node, dict):
            continue
        t = node.get("type")
        t = t if isinstance(t, str) else "object" if "properties" in node else "unknown"
        for k in refused:
            if k in node:
                if anthropic:
                    return "%s: For '%s' type, property '%s' is not supported" % (holder, t, k)
                return ("Invalid schema for response_format 'weft_reply': In context=%s, '%s' "
                        "is not permitted." % (repr(ctx), k))
        if anthropic and isinstance(node.get("minItems"), int) and node["minItems"] > 1:
            return "%s: For 'array' type, property 'minItems' only supports the values 0 and 1" \
                % holder
        for k, v in node.items():
            if k in ("properties", "$defs", "definitions") and isinstance(v, dict):
                stack.extend((sub, ctx + (k, name)) for name, sub in v.items())
            elif isinstance(v, (dict, list)) and k not in ("enum", "const", "required"):
                stack.append((v, ctx + (k,)))
    return None


def resolve_ref(root, ref):
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return {}
    node = root
    for key in ref[2:].split("/"):
        key = key.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            return {}
        node = node[key]
    return node


def value_for(schema, root, depth=0):
    """A JSON value valid for `schema` (see the module comment)."""
    if depth > 64 or not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return value_for(resolve_ref(root, schema["$ref"]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            for b in branches:
                if not (isinstance(b, dict) and b.get("type") == "null"):
                    return value_for(b, root, depth + 1)
            return None
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        return value_for(schema["allOf"][0], root, depth + 1)
    t = schema.get("type")
    if isinstance(t, list):
        non_null = [x for x in t if x != "null"]
        t = non_null[0] if non_null else "null"
    if t is None:
        t = "object" if "properties" in schema else ("array" if "items" in schema else "string")
    if t == "object":
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        return {k: value_for(v, root, depth + 1) for k, v in props.items()}
    if t == "array":
        n = max(2, schema.get("minItems", 0) if isinstance(schema.get("minItems"), int) else 0)
        if isinstance(schema.get("maxItems"), int):
            n = min(n, schema["maxItems"])
        return [value_for(schema.get("items", {}), root, depth + 1) for _ in range(n)]
    if t == "string":
        return "text"
    if t in ("integer", "number"):
        x = 1 if t == "integer" else 1.5
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if isinstance(lo, (int, float)) and not isinstance(lo, bool) and x < lo:
            x = lo
        if isinstance(hi, (int, float)) and not isinstance(hi, bool) and x > hi:
            x = hi
        return x
    if t == "boolean":
        return True
    return None


def invalid_for(schema, root):
    """JSON that violates `schema`: the wrong type at the root."""
    if isinstance(schema, dict) and "$ref" in schema:
        schema = resolve_ref(root, schema["$ref"])
    t = schema.get("type") if isinstance(schema, dict) else None
    if t == "object" or (isinstance(schema, dict) and "properties" in schema):
        props = schema.get("properties") or {}
        if props:
            # Every property present but of the wrong type: a subtle violation.
            return {k: [1, 2, 3] for k in props}
        return ["not", "an", "object"]
    if t == "array":
        return {"not": "an array"}
    return {"unexpected": [1, 2]}


# ---- replies ---------------------------------------------------------------

def request_id():
    return "req_" + os.urandom(12).hex()


def tokens_for(text):
    return max(1, len(text) // 4)


def error_body(path, status, message, etype=None):
    if path == ANTHROPIC_PATH:
        default = {400: "invalid_request_error", 401: "authentication_error",
                   403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                   500: "api_error", 503: "api_error", 529: "overloaded_error"}
        return {"type": "error",
                "error": {"type": etype or default.get(status, "api_error"), "message": message},
                "request_id": request_id()}
    default = {400: "invalid_request_error", 401: "invalid_request_error",
               404: "invalid_request_error", 429: "requests", 500: "server_error",
               503: "server_error", 529: "server_error"}
    return {"error": {"message": message, "type": etype or default.get(status, "server_error"),
                      "param": None, "code": None}}


def masked_key(key):
    return key[:8] + "***" + key[-4:] if len(key) > 12 else "***"


class Reply:
    """The content of a successful (or content-faulty) reply."""

    def __init__(self, text, stop, refusal=None, raw_text=None, calls=None):
        self.text = text          # str
        self.stop = stop          # "end_turn", "refusal", "max_tokens", "tool_use", ...
        self.refusal = refusal    # OpenAI refusal text
        self.raw_text = raw_text  # bytes to splice in verbatim (invalid UTF-8), or None
        # Tool calls: dicts with id (None: left out), name, args (the
        # arguments as JSON text, possibly invalid on purpose).
        self.calls = calls or []


BAD_UTF8_MARK = "@@BADUTF8@@"
BAD_UTF8_BYTES = b"bad \xff\xfe utf8 \xc3( \xe2\x82 end"


def tool_call_reply(plan, fault, tools, step=0):
    """A reply that calls each offered tool once, arguments generated from
    its schema (value_for), or, under a tool fault, a call with that defect.
    With "history" a string argument is "step N" (1 first), so each step's
    results differ and their order can be told."""
    tools = [(n, sch) for n, sch in tools if isinstance(n, str)] or [("f", {})]
    calls = []
    for name, sch in tools:
        root = sch if isinstance(sch, dict) else {}
        args = value_for(root, root)
        if plan.history and isinstance(args, dict):
            args = {k: ("step %d" % (step + 1) if isinstance(v, str) else v) for k, v in args.items()}
        calls.append({"id": os.urandom(12).hex(), "name": name,
                      "args": json.dumps(args if isinstance(args, dict) else {},
                                         ensure_ascii=False, separators=(",", ":"))})
    first = calls[0]
    if fault == "toolbadjson":
        first["args"] = '{"path": '
    elif fault == "toolarray":
        first["args"] = "[1, 2]"
    elif fault == "tooltrailing":
        first["args"] = first["args"] + ' {"path": "/etc/passwd"}'
    elif fault == "toolnoid":
        first["id"] = None
    elif fault == "toolunknown":
        first["name"] = "no_such_tool"
    elif fault == "toolhuge":
        first["args"] = json.dumps({"data": "x" * 2000000})
    return Reply("Let me check." if plan.tool_text else "", "tool_use", calls=calls)


def make_reply(plan, fault, prompt, schema, tools=(), step=0, results=()):
    if tools and (fault in TOOL_FAULTS or step < plan.tool_steps):
        return tool_call_reply(plan, fault, tools, step)
    if fault == "refusal":
        return Reply("I can't help with that.", "refusal",
                     refusal="I'm sorry, I can't help with that request.")
    if fault == "empty":
        return Reply("", "end_turn")
    if fault == "badutf8":
        return Reply(BAD_UTF8_MARK, "end_turn", raw_text=BAD_UTF8_BYTES)
    if fault == "notjson":
        return Reply("Sure! Here is what you asked for: {not json", "end_turn")
    if plan.huge:
        unit = "lorem ipsum dolor sit amet "
        text = (unit * (plan.huge // len(unit) + 1))[:plan.huge]
        return Reply(text, "end_turn")
    if schema is not None:
        root = schema if isinstance(schema, dict) else {}
        value = invalid_for(root, root) if fault == "badschema" else value_for(root, root)
        text = json.dumps(value, ensure_ascii=False)
    elif plan.program:
        text = ("Here is the program:\n```weft\nfn main(task: string, input: json) -> string {\n"
                "  return \"planned: {task}\"\n}\n```\n")
    else:
        text = "echo: " + prompt[:60]
        if results:  # what the tools said reached the model
            text += " | tool results: " + "; ".join(r[:100] for r in results)
    if fault == "maxtokens":
        return Reply(text[:max(1, len(text) // 2)], "max_tokens")
    return Reply(text, "end_turn")


def dumps(obj, reply=None):
    """JSON bytes; the invalid-UTF-8 marker becomes raw bytes on the wire."""
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if reply is not None and reply.raw_text is not None:
        data = data.replace(BAD_UTF8_MARK.encode(), reply.raw_text)
    return data


def openai_finish(stop):
    return {"end_turn": "stop", "max_tokens": "length", "refusal": "stop",
            "tool_use": "tool_calls"}.get(stop, "stop")


def anthropic_call_id(call):
    return "toolu_" + call["id"] if call["id"] is not None else None


def anthropic_input(call):
    """tool_use.input: the arguments object; arguments that are not one
    (a tool fault) go as what they are, or as a string when not JSON."""
    try:
        return json.loads(call["args"])
    except ValueError:
        return call["args"]


def anthropic_message(model, reply, in_tokens):
    content = [] if reply.text == "" else [{"type": "text", "text": reply.text}]
    for c in reply.calls:
        block = {"type": "tool_use", "id": anthropic_call_id(c), "name": c["name"],
                 "input": anthropic_input(c)}
        if block["id"] is None:
            del block["id"]
        content.append(block)
    return {"id": "msg_" + os.urandom(12).hex(), "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": reply.stop,
            "stop_sequence": None,
            "usage": {"input_tokens": in_tokens, "output_tokens": tokens_for(reply.text),
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                         "ephemeral_1h_input_tokens": 0},
                      "service_tier": "standard"}}


def openai_call(call, index=None):
    c = {"id": "call_" + call["id"] if call["id"] is not None else None, "type": "function",
         "function": {"name": call["name"], "arguments": call["args"]}}
    if c["id"] is None:
        del c["id"]
    if index is not None:
        c = dict(index=index, **c)
    return c


def openai_completion(model, reply, in_tokens):
    out = tokens_for(reply.text) + sum(tokens_for(c["args"]) for c in reply.calls)
    msg = {"role": "assistant", "content": None if reply.refusal else reply.text,
           "refusal": reply.refusal, "annotations": []}
    if reply.calls:
        msg["content"] = reply.text or None
        msg["tool_calls"] = [openai_call(c) for c in reply.calls]
    return {"id": "chatcmpl-" + os.urandom(12).hex(), "object": "chat.completion",
            "created": int(time.time()), "model": model, "system_fingerprint": "fp_weft_test",
            "service_tier": "default",
            "choices": [{"index": 0, "logprobs": None, "finish_reason": openai_finish(reply.stop),
                         "message": msg}],
            "usage": {"prompt_tokens": in_tokens, "completion_tokens": out,
                      "total_tokens": in_tokens + out,
                      "prompt_tokens_details": {"cached_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0}}}


USAGE_FAULT_VALUE = {"negusage": -50, "hugeusage": 10 ** 12}


def usage_fault(doc, fault):
    """Applies a usage fault to a reply document or stream event in place:
    nousage drops every usage object, negusage and hugeusage replace every
    count in them."""
    if fault not in ("nousage", "negusage", "hugeusage"):
        return
    holders = [doc]
    if isinstance(doc.get("message"), dict):
        holders.append(doc["message"])
    for h in holders:
        if "usage" not in h:
            continue
        if fault == "nousage":
            del h["usage"]
        elif isinstance(h["usage"], dict):
            h["usage"] = {k: USAGE_FAULT_VALUE[fault] if isinstance(v, int) else v
                          for k, v in h["usage"].items()}


def pieces(text, size):
    """Splits text into stream deltas of about `size` characters."""
    if text == "":
        return []
    return [text[i:i + size] for i in range(0, len(text), size)]


def piece_size(reply):
    """Characters per stream delta: 8 (many small deltas), 64 KB for huge
    replies, and one delta when raw bytes are spliced in for a marker."""
    if reply.raw_text is not None:
        return max(1, len(reply.text))
    return 65536 if len(reply.text) > 100000 else 8


def anthropic_events(model, reply, in_tokens, fault):
    """(event name, payload) pairs of an Anthropic stream; payload is a dict or raw bytes."""
    ev = []
    msg = anthropic_message(model, reply, in_tokens)
    msg["content"], msg["stop_reason"] = [], None
    msg["usage"] = {"input_tokens": in_tokens, "output_tokens": 1,
                    "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    ev.append(("message_start", {"type": "message_start", "message": msg}))
    if fault == "malformed":
        ev.append(("content_block_start", b'{"type":"content_block_start","index":0,"content_b'))
        return ev
    chunks = pieces(reply.text, piece_size(reply))
    if chunks:
        ev.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}}))
        ev.append(("ping", {"type": "ping"}))
        for i, c in enumerate(chunks):
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": c}}))
            if fault in ("midstream", "truncate") and i == len(chunks) // 2:
                break
        if fault == "midstream":
            ev.append(("error", {"type": "error", "error": {"type": "overloaded_error",
                                                            "message": "Overloaded"}}))
            return ev
        if fault == "truncate":
            return ev
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    elif fault == "midstream":
        ev.append(("error", {"type": "error", "error": {"type": "overloaded_error",
                                                        "message": "Overloaded"}}))
        return ev
    elif fault == "truncate":
        return ev
    # Each call: a tool_use block whose input arrives as input_json_delta
    # fragments, the first one empty as the real API often sends.
    for n, c in enumerate(reply.calls):
        index = n + (1 if chunks else 0)
        block = {"type": "tool_use", "id": anthropic_call_id(c), "name": c["name"], "input": {}}
        if block["id"] is None:
            del block["id"]
        ev.append(("content_block_start", {"type": "content_block_start", "index": index,
                                           "content_block": block}))
        size = 65536 if len(c["args"]) > 100000 else 7
        for frag in [""] + pieces(c["args"], size):
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                               "delta": {"type": "input_json_delta",
                                                         "partial_json": frag}}))
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": reply.stop, "stop_sequence": None},
                                 "usage": {"output_tokens": tokens_for(reply.text)}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


def openai_events(model, reply, in_tokens, fault, include_usage):
    cid = "chatcmpl-" + os.urandom(12).hex()
    created = int(time.time())

    def chunk(delta, finish=None, choices=True, usage=None):
        c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
             "system_fingerprint": "fp_weft_test",
             "choices": [{"index": 0, "delta": delta, "logprobs": None,
                          "finish_reason": finish}] if choices else []}
        if include_usage:
            c["usage"] = usage
        return ("", c)

    ev = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if fault == "malformed":
        ev.append(("", b'{"id":"chatcmpl-x","object":"chat.completion.chunk","choi'))
        return ev
    size = piece_size(reply)
    if reply.refusal:
        for c in pieces(reply.refusal, 8):
            ev.append(chunk({"refusal": c}))
    else:
        chunks = pieces(reply.text, size)
        for i, c in enumerate(chunks):
            ev.append(chunk({"content": c}))
            if fault in ("midstream", "truncate") and i == len(chunks) // 2:
                break
    if fault == "midstream":
        ev.append(("", {"error": {"message": "The server had an error while processing your "
                                             "request. Sorry about that!",
                                  "type": "server_error", "param": None, "code": None}}))
        return ev
    if fault == "truncate":
        return ev
    # Each call: a first delta with index, id, type and name (arguments
    # ""), then argument fragments carrying only the index.
    for n, c in enumerate(reply.calls):
        first = openai_call(c, n)
        first["function"]["arguments"] = ""
        ev.append(chunk({"tool_calls": [first]}))
        size = 65536 if len(c["args"]) > 100000 else 7
        for frag in pieces(c["args"], size):
            ev.append(chunk({"tool_calls": [{"index": n, "function": {"arguments": frag}}]}))
    ev.append(chunk({}, openai_finish(reply.stop)))
    if include_usage:
        out = tokens_for(reply.text or reply.refusal or "") + \
            sum(tokens_for(c["args"]) for c in reply.calls)
        ev.append(chunk(None, choices=False,
                        usage={"prompt_tokens": in_tokens, "completion_tokens": out,
                               "total_tokens": in_tokens + out}))
    ev.append(("", b"[DONE]"))
    return ev


# ---- HTTP ------------------------------------------------------------------

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           529: "Site Overloaded"}


class CloseConnection(Exception):
    pass


def parse_request(buf, conn):
    """One complete request from the front of buf: (request, bytes used), or
    None when more bytes are needed. Raises CloseConnection on garbage."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        if len(buf) > 1 << 20:
            raise CloseConnection()
        return None
    lines = bytes(buf[:head_end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise CloseConnection()
    method, target, version = parts
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    pos = head_end + 4
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            try:
                size = int(bytes(buf[pos:eol]).split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise CloseConnection()
            if size > MAX_BODY:
                raise CloseConnection()
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", eol)
                if trailer_end < 0 and buf[eol:eol + 4] != b"\r\n\r\n":
                    return None
                pos = (trailer_end if trailer_end >= 0 else eol) + 4
                break
            if len(buf) < eol + 2 + size + 2:
                conn.maybe_continue(headers)
                return None
            chunks.append(bytes(buf[eol + 2:eol + 2 + size]))
            pos = eol + 2 + size + 2
        body = b"".join(chunks)
    else:
        try:
            n = int(headers.get("content-length", "0") or "0")
        except ValueError:
            raise CloseConnection()
        if n > MAX_BODY or n < 0:
            raise CloseConnection()
        if len(buf) < pos + n:
            conn.maybe_continue(headers)
            return None
        body = bytes(buf[pos:pos + n])
        pos += n
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return {"method": method, "path": target.split("?")[0], "headers": headers,
            "body": body, "keep": keep}, pos


class Conn(asyncio.Protocol):
    """One client connection. A plain Protocol (no StreamReader, no task
    per connection): requests are parsed as bytes arrive, and one task per
    request answers it, in order, so 500 slow connections cost little."""

    def __init__(self, server):
        self.server = server
        self.buf = bytearray()
        self.pending = []
        self.busy = False
        self.closed = False
        self.sent_continue = False
        self.transport = None
        self.lost = None
        self.can_write = None

    def connection_made(self, transport):
        self.transport = transport
        self.lost = asyncio.get_running_loop().create_future()
        st = self.server.stats
        st.connections += 1
        st.max_connections = max(st.max_connections, st.connections)

    def connection_lost(self, exc):
        self.closed = True
        self.server.stats.connections -= 1
        if not self.lost.done():
            self.lost.set_result(None)
        if self.can_write is not None and not self.can_write.done():
            self.can_write.set_result(None)

    def pause_writing(self):
        self.can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self):
        if self.can_write is not None and not self.can_write.done():
            self.can_write.set_result(None)

    def maybe_continue(self, headers):
        if not self.sent_continue and headers.get("expect", "").lower() == "100-continue":
            self.sent_continue = True
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def data_received(self, data):
        self.buf += data
        try:
            while True:
                got = parse_request(self.buf, self)
                if got is None:
                    break
                req, used = got
                del self.buf[:used]
                self.sent_continue = False
                self.pending.append(req)
        except CloseConnection:
            self.transport.close()
            return
        if self.pending and not self.busy:
            self.busy = True
            asyncio.ensure_future(self.serve())

    async def serve(self):
        try:
            while self.pending and not self.closed:
                req = self.pending.pop(0)
                if not await self.server.dispatch(req, self):
                    self.transport.close()
                    break
        except (CloseConnection, ConnectionError):
            self.transport.close()
        except Exception:
            # A bug here must be loud (tests fail on a traceback in the log)
            # but must not leave the client waiting for an answer.
            traceback.print_exc()
            self.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                       b"Connection: close\r\n\r\n")
            self.transport.close()
        finally:
            self.busy = False

    def write(self, data):
        if not self.closed:
            self.transport.write(data)

    async def drain(self):
        if self.closed:
            raise CloseConnection()
        if self.can_write is not None and not self.can_write.done():
            await self.can_write
        if self.closed:
            raise CloseConnection()


class Server:
    def __init__(self, seed, verbose):
        self.stats = Stats()
        self.seed = seed
        self.verbose = verbose

    def log(self, *args):
        if self.verbose:
            print(*args, file=sys.stderr, flush=True)

    async def send(self, writer, status, body, ctype="application/json", extra=None, keep=True):
        hdrs = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
                f"Content-Type: {ctype}", f"Content-Length: {len(body)}",
                "Connection: " + ("keep-alive" if keep else "close")]
        for k, v in (extra or {}).items():
            hdrs.append(f"{k}: {v}")
        writer.write(("\r\n".join(hdrs) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()

    async def dispatch(self, req, writer):
        path, method = req["path"], req["method"]
        st = self.stats
        if path.startswith("/_stats") and method == "GET":
            doc = st.to_json()
            field = path[len("/_stats/"):]
            if field:  # /_stats/NAME: one field, so shell tests need no JSON parser
                doc = doc.get(field)
            await self.send(writer, 200, json.dumps(doc).encode(), keep=req["keep"])
            return req["keep"]
        if path == "/_reset" and method == "POST":
            st.reset()
            await self.send(writer, 200, b'{"ok":true}', keep=req["keep"])
            return req["keep"]
        if path not in (ANTHROPIC_PATH, OPENAI_PATH):
            await self.send(writer, 404, dumps({"error": {"message": "no route " + path[:100],
                                                          "type": "not_found"}}),
                            keep=req["keep"])
            return req["keep"]
        if method != "POST":
            await self.send(writer, 405, b'{"error":"method not allowed"}', keep=req["keep"])
            return req["keep"]
        st.requests += 1
        if len(st.body_bytes) < 1000:
            st.body_bytes.append(len(req["body"]))
        st.max_body_bytes = max(st.max_body_bytes, len(req["body"]))
        if len(st.sampling) < 100:
            try:
                sent = json.loads(req["body"])
            except ValueError:
                sent = None
            seen = {"path": path}
            if isinstance(sent, dict):
                for k in ("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop",
                          "stop_sequences"):
                    if k in sent:
                        seen[k] = sent[k]
                tools = offered_tools(path, sent)
                if tools:
                    seen["tools"] = [n for n, _ in tools]
                msgs = sent.get("messages")
                if isinstance(msgs, list) and tool_steps_done(msgs):
                    seen["steps"] = tool_steps_done(msgs)
            st.sampling.append(seen)
        st.t_last_arrival = time.monotonic()
        if st.t_first is None:
            st.t_first = st.t_last_arrival
            st.first_arrival_unix_ms = round(time.time() * 1000, 1)
        st.by_path[path] = st.by_path.get(path, 0) + 1
        st.in_flight += 1
        st.max_in_flight = max(st.max_in_flight, st.in_flight)
        try:
            keep = await self.model_call(req, writer)
            # Returning normally means the whole response was written (a
            # client that hung up makes drain raise CloseConnection).
            if "prompt" in req:
                done = st.completed_by_prompt
                done[req["prompt"]] = done.get(req["prompt"], 0) + 1
            return keep
        finally:
            st.in_flight -= 1
            st.t_last = time.monotonic()

    def api_key(self, path, headers):
        if path == ANTHROPIC_PATH:
            key = headers.get("x-api-key", "")
            if key:
                return key
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return ""

    async def model_call(self, req, writer):
        path, headers, keep = req["path"], req["headers"], req["keep"]
        st = self.stats
        try:
            body = json.loads(req["body"].decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError) as e:
            await self.send(writer, 400, dumps(error_body(path, 400,
                                                          "invalid JSON body: " + str(e)[:80])),
                            keep=keep)
            return keep
        model = body.get("model") if isinstance(body.get("model"), str) else ""
        messages = body.get("messages")
        prompt = first_user_text(messages)[:300]
        req["prompt"] = prompt
        repair_index = assistant_turns(messages)
        step = tool_steps_done(messages)
        st.attempts_by_prompt[prompt] = st.attempts_by_prompt.get(prompt, 0) + 1
        if repair_index:
            st.repairs += 1
            st.repairs_by_prompt[prompt] = st.repairs_by_prompt.get(prompt, 0) + 1
        fallback_key = (model, prompt, repair_index, step)
        fallback = st.by_model_prompt.get(fallback_key, 0)
        st.by_model_prompt[fallback_key] = fallback + 1
        try:
            retry_count = int(headers["x-stainless-retry-count"])
        except (KeyError, ValueError):
            retry_count = fallback
        if retry_count > 0:
            st.retries += 1
        counts = st.retry_counts_by_prompt.setdefault(prompt, [])
        if len(counts) < 100:
            counts.append(retry_count)

        key = self.api_key(path, headers)
        self.log(req["method"], path, model, "attempt", retry_count, "repair", repair_index)
        if not key:
            msg = ("x-api-key header is required" if path == ANTHROPIC_PATH else
                   "You didn't provide an API key. You need to provide your API key in an "
                   "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
            await self.send(writer, 401, dumps(error_body(path, 401, msg)), keep=keep)
            return keep
        if path == ANTHROPIC_PATH and "anthropic-version" not in headers:
            await self.send(writer, 400, dumps(error_body(
                path, 400, "anthropic-version: header is required")), keep=keep)
            return keep

        plan = parse_model(model)
        fault = active_fault(plan, retry_count, repair_index, step)
        delay = plan.slow_ms
        if plan.jitter:
            lo, hi = plan.jitter
            h = hashlib.sha256(f"{self.seed}\0{prompt}\0{retry_count}\0{repair_index}".encode())
            delay += lo + int.from_bytes(h.digest()[:8], "big") % max(1, hi - lo + 1)
        # The reply is built before the delay runs out and only written
        # after it, so that 500 replies due at the same moment cost only
        # their writes then (the latency the client sees stays `delay`).
        deadline = time.monotonic() + delay / 1000.0

        async def due():
            wait = deadline - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)

        if fault == "reset":
            await due()
            sock = writer.transport.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER 0: close() sends RST instead of a polite FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            raise CloseConnection()
        if fault == "stall":
            await due()
            # Never answer; return when the client gives up and hangs up.
            await writer.lost
            raise CloseConnection()

        err = self.http_fault(path, fault, model, key)
        if err is not None:
            status, ebody, extra, ctype = err
            extra = dict(extra)
            extra["request-id" if path == ANTHROPIC_PATH else "x-request-id"] = request_id()
            await due()
            await self.send(writer, status, ebody, ctype=ctype, extra=extra, keep=keep)
            return keep

        schema = requested_schema(path, body)
        refused = schema_rejection(path, body, schema) if schema is not None else None
        if refused is not None:
            await due()
            await self.send(writer, 400, dumps(error_body(path, 400, refused)), keep=keep)
            return keep
        if path == ANTHROPIC_PATH:
            refused = anthropic_tool_rejection(body)
            ebody = error_body(path, 400, refused) if refused else None
        else:
            refused = openai_tool_rejection(body)
            ebody = None
            if refused:
                ebody = error_body(path, 400, refused[0])
                ebody["error"]["param"], ebody["error"]["code"] = refused[1], refused[2]
        if ebody is not None:
            await due()
            await self.send(writer, 400, dumps(ebody), keep=keep)
            return keep
        reply = make_reply(plan, fault, prompt, schema, offered_tools(path, body), step,
                           tool_results(path, messages, plan.history))
        in_tokens = 12 + tokens_for(json.dumps(messages, ensure_ascii=False)) + \
            (tokens_for(json.dumps(schema)) if schema is not None else 0)
        if plan.usage_in is not None:
            in_tokens = plan.usage_in
        stream = body.get("stream") is True
        if path == ANTHROPIC_PATH:
            resp_headers = {"request-id": request_id(),
                            "anthropic-organization-id": "org-weft-test",
                            "anthropic-ratelimit-requests-limit": "4000",
                            "anthropic-ratelimit-requests-remaining": "3999",
                            "anthropic-ratelimit-requests-reset":
                                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        else:
            resp_headers = {"x-request-id": request_id(), "openai-processing-ms": str(delay),
                            "openai-version": "2020-10-01",
                            "x-ratelimit-limit-requests": "10000",
                            "x-ratelimit-remaining-requests": "9999",
                            "x-ratelimit-reset-requests": "6ms"}

        if not stream:
            if path == ANTHROPIC_PATH:
                doc = anthropic_message(model, reply, in_tokens)
            else:
                doc = openai_completion(model, reply, in_tokens)
            usage_fault(doc, fault)
            data = dumps(doc, reply)
            if fault == "malformed":
                data = data[:len(data) // 2]
            if fault == "truncate":
                hdr = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(data)}\r\n\r\n").encode()
                await due()
                writer.write(hdr + data[:len(data) // 2])
                await writer.drain()
                raise CloseConnection()
            await due()
            await self.send(writer, 200, data, extra=resp_headers, keep=keep)
            return keep

        if path == ANTHROPIC_PATH:
            events = anthropic_events(model, reply, in_tokens, fault)
        else:
            so = body.get("stream_options")
            include_usage = isinstance(so, dict) and so.get("include_usage") is True
            events = openai_events(model, reply, in_tokens, fault, include_usage)
        for _, payload in events:
            if isinstance(payload, dict):
                usage_fault(payload, fault)
        await self.stream(writer, events, reply, plan, resp_headers, keep, due)
        return keep

    def http_fault(self, path, fault, model, key):
        """(status, body bytes, extra headers, content type) for an HTTP-level fault."""
        anth = path == ANTHROPIC_PATH
        j = "application/json"
        if fault is None:
            return None
        if fault in ("429", "429ms", "429date", "429long"):
            msg = ("Number of request tokens has exceeded your per-minute rate limit "
                   "(https://docs.anthropic.com/en/api/rate-limits)" if anth else
                   "Rate limit reached for " + model[:60] + " in organization org-test on "
                   "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.")
            extra = {"429": {"retry-after": "1"},
                     "429ms": {"retry-after-ms": "50", "retry-after": "30"},
                     "429date": {"retry-after": email.utils.formatdate(time.time() + 2,
                                                                        usegmt=True)},
                     "429long": {"retry-after": "300"}}[fault]
            body = error_body(path, 429, msg)
            if not anth:
                body["error"]["code"] = "rate_limit_exceeded"
            return 429, dumps(body), extra, j
        if fault == "503":
            return 503, dumps(error_body(path, 503, "The server is overloaded, try again later",
                                         "api_error" if anth else "server_error")), {}, j
        if fault == "529":
            return 529, dumps(error_body(path, 529, "Overloaded", "overloaded_error")), {}, j
        if fault == "500":
            return 500, dumps(error_body(path, 500, "Internal server error")), {}, j
        if fault == "500noretry":
            return 500, dumps(error_body(path, 500, "Internal server error (do not retry)")), \
                {"x-should-retry": "false"}, j
        if fault == "400retry":
            return 400, dumps(error_body(path, 400, "Transient bad request, please retry")), \
                {"x-should-retry": "true"}, j
        if fault == "400":
            return 400, dumps(error_body(path, 400,
                                         "max_tokens: Field required (test fault 400)")), {}, j
        if fault == "401":
            if anth:
                return 401, dumps(error_body(path, 401, "invalid x-api-key")), {}, j
            body = error_body(path, 401, "Incorrect API key provided: " + masked_key(key) +
                              ". You can find your API key at "
                              "https://platform.openai.com/account/api-keys.")
            body["error"]["code"] = "invalid_api_key"
            return 401, dumps(body), {}, j
        if fault == "echokey":
            return 400, dumps(error_body(path, 400, "Bad header: key " + key + " (prefix " +
                                         key[:8] + ", suffix " + key[-4:] + ") rejected")), {}, j
        if fault == "404":
            if anth:
                return 404, dumps(error_body(path, 404, "model: " + model[:100])), {}, j
            body = error_body(path, 404, "The model `" + model[:100] + "` does not exist or you "
                              "do not have access to it.")
            body["error"]["code"] = "model_not_found"
            return 404, dumps(body), {}, j
        if fault == "vllm":
            return 400, dumps({"object": "error", "message": "vLLM: this model's maximum "
                               "context length is 4096 tokens", "type": "BadRequestError",
                               "param": None, "code": 400}), {}, j
        if fault == "vllm401":
            return 401, dumps({"error": "Unauthorized"}), {}, j
        if fault == "llamacpp":
            return 400, dumps({"error": {"code": 400, "message": "llama.cpp: the request "
                                         "exceeds the available context size",
                               "type": "invalid_request_error"}}), {}, j
        if fault == "llamacpp503":
            return 503, dumps({"error": {"code": 503, "message": "Loading model",
                                         "type": "unavailable_error"}}), {}, j
        if fault == "html502":
            return 502, b"<html><head><title>502 Bad Gateway</title></head><body><center>" \
                b"<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", \
                {}, "text/html"
        return None

    async def stream(self, writer, events, reply, plan, extra, keep, due):
        """Writes the SSE events, each as one HTTP chunk. Normally the bytes
        go out in as few writes as possible (cheap for 500 streams at once;
        a huge reply in 256 KB writes); with `split`, in 5-byte writes 1 ms
        apart, so the client sees lines and UTF-8 characters cut anywhere."""
        eol = b"\r\n" if plan.crlf else b"\n"
        hdrs = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream; charset=utf-8",
                "Cache-Control: no-cache", "Transfer-Encoding: chunked",
                "Connection: " + ("keep-alive" if keep else "close")]
        hdrs += [f"{k}: {v}" for k, v in extra.items()]
        out = [("\r\n".join(hdrs) + "\r\n\r\n").encode("latin-1")]
        size = len(out[0])
        bodies = [b": keep-alive comment" + eol + eol]
        for name, payload in events:
            data = payload if isinstance(payload, bytes) else dumps(payload, reply)
            bodies.append((b"event: " + name.encode() + eol if name else b"") +
                          b"data: " + data + eol + eol)
        await due()
        if plan.split:
            writer.write(out[0])
            wire = b"".join(b"%x\r\n" % len(d) + d + b"\r\n" for d in bodies) + b"0\r\n\r\n"
            for i in range(0, len(wire), 5):
                writer.write(wire[i:i + 5])
                await writer.drain()
                await asyncio.sleep(0.001)
            return
        for d in bodies:
            out.append(b"%x\r\n" % len(d) + d + b"\r\n")
            size += len(d) + 12
            if size > 262144:
                writer.write(b"".join(out))
                await writer.drain()
                out, size = [], 0
        out.append(b"0\r\n\r\n")
        writer.write(b"".join(out))
        await writer.drain()


async def main_async(args):
    server = Server(args.seed, args.verbose)
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: Conn(server), "127.0.0.1", args.port, backlog=4096)
    port = srv.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    else:
        print(port, flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with srv:
        await stop
    srv.close()


def main():
    ap = argparse.ArgumentParser(description="local LLM API test server (see the module doc)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verbose", action="store_true",
                    help="log method, path, model and attempt (never headers or keys)")
    args = ap.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
