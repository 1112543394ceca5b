import json
import os
import time
import urllib.request


def api(event, context):
    return {"statusCode": 200, "body": "release " + os.environ["RELEASE"]}


def hang_hook(event, context):
    # A hook stuck on something: it never reports to CodeDeploy.
    time.sleep(50)


def succeed_hook(event, context):
    # Reports Succeeded the way the AWS SDK's put_lifecycle_event_hook_execution_status does.
    body = json.dumps({"deploymentId": event["DeploymentId"],
                       "lifecycleEventHookExecutionId": event["LifecycleEventHookExecutionId"],
                       "status": "Succeeded"}).encode()
    request = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL_CODEDEPLOY"] + "/", data=body, method="POST",
        headers={"X-Amz-Target": "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus",
                 "Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Security-Token": os.environ.get("AWS_SESSION_TOKEN", "")})
    urllib.request.urlopen(request, timeout=10).read()
