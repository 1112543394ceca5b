// An API Gateway handler for the nodejs20.x runtime; the same file runs unchanged on AWS Lambda.
// `http` events bring payload format 1.0, `httpApi` events format 2.0; the response shape
// (statusCode, headers, body as a string) is the same for both.
export const hello = async (event, context) => {
  const v2 = event.version === '2.0';
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      message: process.env.GREETING ?? 'hello',
      runtime: 'nodejs20.x',
      payloadFormat: v2 ? '2.0' : '1.0',
      method: v2 ? event.requestContext?.http?.method : event.httpMethod,
      path: v2 ? event.rawPath : event.path,
      query: event.queryStringParameters ?? {},
      version: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      requestId: context?.awsRequestId,
    }),
  };
};
