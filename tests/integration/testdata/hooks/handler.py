"""The hooks test's functions: an API handler, and a hook that reports like SDK code on AWS."""

import json
import os
import urllib.request


def api(event, context):
    return {"statusCode": 200, "body": json.dumps({"release": os.environ.get("RELEASE")})}


def hook(event, context):
    # What codedeploy.putLifecycleEventHookExecutionStatus sends: AWS JSON 1.1 with camelCase keys,
    # and, as every SDK does when the credentials carry a session token, X-Amz-Security-Token.
    body = json.dumps({
        "deploymentId": event["DeploymentId"],
        "lifecycleEventHookExecutionId": event["LifecycleEventHookExecutionId"],
        "status": os.environ["VERDICT"],
    }).encode()
    request = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL_CODEDEPLOY"] + "/", data=body, method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus",
                 "X-Amz-Security-Token": os.environ["AWS_SESSION_TOKEN"]})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    print("reported", os.environ["VERDICT"], "for", event["TargetVersion"], answer)
    return answer
