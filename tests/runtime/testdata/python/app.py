"""Test handler for the python runtime."""
import os

print("app module loaded")


def handler(event, context):
    if event.get("action") == "fail":
        raise ValueError("python boom")
    if event.get("action") == "unserializable":
        return {"a set": {1, 2}}
    print("python handling", context.aws_request_id)
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
    }
