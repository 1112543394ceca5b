// Test handler for the node runtime (through aws-lambda-ric).
exports.handler = async (event, context) => {
  if (event.action === 'fail') {
    throw new TypeError('node boom');
  }
  console.log('node handling', context.awsRequestId);
  return {
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    remainingMs: context.getRemainingTimeInMillis(),
    executionEnv: process.env.AWS_EXECUTION_ENV,
  };
};
