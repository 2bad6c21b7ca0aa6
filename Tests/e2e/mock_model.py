#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A scripted Anthropic Messages API (SSE streaming) for driving the real Claude Code offline.

Usage: mock_model.py DUMP_DIR [--port N] [--lifetime SECONDS]

The prompt carries `STEPS:[[{"name":…,"input":{…}}, …], …]`: turn n of the conversation (n = number of
assistant messages so far) answers with the tool calls in STEPS[n], then plain text "done". Requests
without tools (side requests) get "done". Every request body is dumped to DUMP_DIR/NNNN.json, so a test
can read the exact tool_result text the model saw. Port 0 (the default) picks a free port; the chosen
port is printed on stdout as the first line (`PORT <n>`). The server stops by itself after --lifetime
seconds (default 300). Stdlib only. Based on the project's reference harness (claude-code.md, App. E).
"""
import argparse
import itertools
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTER = itertools.count()
COUNTER_LOCK = threading.Lock()
STEPS_RE = re.compile(r"STEPS:(\[.*\])\s*$", re.S | re.M)


def sse(w, event, data):
    w.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())


def text_of(message):
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")


def scripted_steps(messages):
    for m in messages:
        if m.get("role") != "user":
            continue
        match = STEPS_RE.search(text_of(m))
        if match:
            try:
                return json.loads(match.group(1))
            except ValueError:
                return []
    return []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    dump_dir = "."

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0) or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        with COUNTER_LOCK:
            index = next(COUNTER)
        path = os.path.join(self.dump_dir, f"{index:04d}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(body, f)
        os.replace(path + ".tmp", path)

        if "count_tokens" in self.path:
            payload = b'{"input_tokens":10}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return

        messages = body.get("messages", []) if isinstance(body, dict) else []
        steps = scripted_steps(messages)
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        if isinstance(body, dict) and body.get("tools") and turn < len(steps):
            content = [
                {"type": "tool_use", "id": f"toolu_{turn:02d}_{j}", "name": t["name"], "input": t.get("input", {})}
                for j, t in enumerate(steps[turn])
            ]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": "done"}]
            stop = "end_turn"

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        w = self.wfile
        model = body.get("model") if isinstance(body, dict) else None
        sse(w, "message_start", {"type": "message_start", "message": {
            "id": f"msg_{index}", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}})
        for k, block in enumerate(content):
            if block["type"] == "text":
                sse(w, "content_block_start", {"type": "content_block_start", "index": k,
                                               "content_block": {"type": "text", "text": ""}})
                sse(w, "content_block_delta", {"type": "content_block_delta", "index": k,
                                               "delta": {"type": "text_delta", "text": block["text"]}})
            else:
                sse(w, "content_block_start", {"type": "content_block_start", "index": k, "content_block": {
                    "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})
                sse(w, "content_block_delta", {"type": "content_block_delta", "index": k, "delta": {
                    "type": "input_json_delta", "partial_json": json.dumps(block["input"])}})
            sse(w, "content_block_stop", {"type": "content_block_stop", "index": k})
        sse(w, "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                 "usage": {"output_tokens": 5}})
        sse(w, "message_stop", {"type": "message_stop"})
        w.flush()
        self.close_connection = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump_dir")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=300.0)
    args = parser.parse_args()
    os.makedirs(args.dump_dir, exist_ok=True)
    Handler.dump_dir = args.dump_dir
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
