import os
import sys
import time


def _query(event, name, default):
    return ((event.get("queryStringParameters") or {}).get(name)) or default


def api(event, context):
    return {"statusCode": 200, "body": "release " + os.environ["RELEASE"]}


def ok(event, context):
    return {"statusCode": 200, "body": "ok"}


def hold(event, context):
    # ?s=0 answers at once; otherwise the pid is published (atomically) for the test to kill.
    seconds = float(_query(event, "s", "25"))
    if seconds > 0:
        path = os.path.join(os.environ["PID_DIR"], "hold.pid")
        with open(path + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(path + ".tmp", path)
        time.sleep(seconds)
    return {"statusCode": 200, "body": "held %g s" % seconds}


def huge(event, context):
    # The payload is the JSON document below; its body fills it to exactly `bytes`.
    total = int(_query(event, "bytes", "1000"))
    frame = '{"statusCode": 200, "body": ""}'
    return {"statusCode": 200, "body": "x" * (total - len(frame))}


def chatty(event, context):
    mb = int(_query(event, "mb", "1"))
    line = ("log line of a chatty function " * 4)[:119] + "\n"
    chunk = line * (1024 * 1024 // len(line))
    written = 0
    while written < mb * 1024 * 1024:
        sys.stdout.write(chunk)
        written += len(chunk)
    sys.stdout.flush()
    return {"statusCode": 200, "body": "wrote %d bytes" % written}


def malformed(event, context):
    kind = _query(event, "kind", "status")
    if kind == "status":
        return {"statusCode": 1000, "body": "no such status"}
    if kind == "header":
        return {"statusCode": 200, "headers": {"X-Split": "a\r\nSet-Cookie: forged=1"}, "body": ""}
    if kind == "body":
        return {"statusCode": 200, "body": {"not": "a string"}}
    return "just a string"
