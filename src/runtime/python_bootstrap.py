"""cutover's Python runtime: runs one handler over the Lambda Runtime API.

cutover starts it as `python3 python_bootstrap.py` with Lambda's environment (_HANDLER,
LAMBDA_TASK_ROOT, AWS_LAMBDA_RUNTIME_API, ...); the script is compiled into the cutover binary
and written next to its data. Standard library only.

Loop: GET /next -> handler(event, context) -> POST /response; an exception -> POST /error with
{errorMessage, errorType, stackTrace}; a handler that cannot be loaded -> POST /init/error, exit.
"""
import http.client
import importlib
import json
import os
import sys
import time
import traceback

API_PREFIX = "/2018-06-01/runtime"


class InitError(Exception):
    def __init__(self, error_type, message, stack=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []


class RuntimeClient:
    """One keep-alive HTTP connection to the Runtime API."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self._host = host
        self._port = int(port)
        self._conn = None

    def _request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port)
            try:
                self._conn.request(method, API_PREFIX + path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                data = response.read()
                return response, data
            except (ConnectionError, http.client.HTTPException):
                # The server closed a kept-alive connection; retry once on a fresh one.
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def next(self):
        response, body = self._request("GET", "/invocation/next")
        if response.status != 200:
            raise SystemExit("runtime API /next answered %d: %s" % (response.status, body))
        return response, body

    def respond(self, request_id, payload):
        self._request("POST", "/invocation/%s/response" % request_id, payload,
                      {"Content-Type": "application/json"})

    def error(self, request_id, document):
        self._request("POST", "/invocation/%s/error" % request_id,
                      json.dumps(document).encode(),
                      {"Content-Type": "application/json",
                       "Lambda-Runtime-Function-Error-Type": "Unhandled"})

    def init_error(self, document):
        self._request("POST", "/init/error", json.dumps(document).encode(),
                      {"Content-Type": "application/json",
                       "Lambda-Runtime-Function-Error-Type": document["errorType"]})


class LambdaContext:
    def __init__(self, request_id, deadline_ms, invoked_function_arn, client_context):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.invoked_function_arn = invoked_function_arn
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = client_context
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def error_document(exc, skip_frames=0):
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def log_error(document):
    # Lambda's Python runtime logs the error as one record before reporting it.
    lines = ["[ERROR] %s: %s" % (document["errorType"], document["errorMessage"])]
    if document.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in document["stackTrace"])
    print("\n".join(lines), file=sys.stderr, flush=True)


def load_handler(task_root, spec):
    module_path, _, function_name = spec.rpartition(".")
    if not module_path or not function_name:
        raise InitError("Runtime.MalformedHandlerName",
                        "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % spec)
    module_name = module_path.replace("/", ".")
    # The task root comes first; this script's own directory is not a place to import from.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = task_root
    else:
        sys.path.insert(0, task_root)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError("Runtime.ImportModuleError",
                        "Unable to import module '%s': %s" % (module_name, exc))
    except SyntaxError as exc:
        raise InitError("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s"
                        % (module_name, exc))
    except Exception as exc:  # pylint: disable=broad-except
        document = error_document(exc, skip_frames=1)
        raise InitError(document["errorType"], document["errorMessage"], document["stackTrace"])
    handler = getattr(module, function_name, None)
    if handler is None:
        raise InitError("Runtime.HandlerNotFound",
                        "Handler '%s' missing on module '%s'" % (function_name, module_name))
    return handler


def main():
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    try:
        handler = load_handler(task_root, os.environ.get("_HANDLER", ""))
    except InitError as exc:
        document = {"errorMessage": exc.message, "errorType": exc.error_type,
                    "stackTrace": exc.stack}
        log_error(document)
        client.init_error(document)
        sys.exit(1)

    while True:
        response, body = client.next()
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        trace_id = response.getheader("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        client_context = response.getheader("Lambda-Runtime-Client-Context")
        if client_context:
            try:
                client_context = json.loads(client_context)
            except ValueError:
                pass
        context = LambdaContext(request_id,
                                int(response.getheader("Lambda-Runtime-Deadline-Ms") or 0),
                                response.getheader("Lambda-Runtime-Invoked-Function-Arn"),
                                client_context or None)
        try:
            event = json.loads(body) if body else {}
        except ValueError as exc:
            document = {"errorMessage": "Unable to unmarshal input: %s" % exc,
                        "errorType": "Runtime.UnmarshalError", "stackTrace": []}
            log_error(document)
            client.error(request_id, document)
            continue
        try:
            result = handler(event, context)
        except Exception as exc:  # pylint: disable=broad-except
            document = error_document(exc, skip_frames=1)
            log_error(document)
            client.error(request_id, document)
            continue
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            document = {"errorMessage": "Unable to marshal response: %s" % exc,
                        "errorType": "Runtime.MarshalError", "stackTrace": []}
            log_error(document)
            client.error(request_id, document)
            continue
        client.respond(request_id, payload)


if __name__ == "__main__":
    main()
