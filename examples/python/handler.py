"""An API Gateway handler for the python3.11 runtime; the same file runs unchanged on AWS Lambda."""

import json
import os


def hello(event, context):
    """Answers GET /python/hello and GET /python/hello/{name} (payload format 1.0)."""
    name = (event.get("pathParameters") or {}).get("name", "world")
    body = {
        "message": f"{os.environ.get('GREETING', 'hello')}, {name}",
        "runtime": "python3.11",
        "method": event.get("httpMethod"),
        "path": event.get("path"),
        "query": event.get("queryStringParameters") or {},
        "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
        "requestId": getattr(context, "aws_request_id", None),
    }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
