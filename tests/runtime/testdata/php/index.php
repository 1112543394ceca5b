<?php
// A Bref function handler (php-82 layer): returns what the runtime gave it. The context is
// type-hinted as Bref's, which cutover provides without bref/bref installed.

error_log('php handler file loaded');

return function (array $event, Bref\Context\Context $context) {
    error_log('php handling ' . json_encode($event));
    switch ($event['action'] ?? '') {
        case 'fail':
            throw new InvalidArgumentException('php boom');
        case 'exit':
            exit(3);
        case 'unserializable':
            return ['value' => NAN];
        case 'fatal':
            ini_set('memory_limit', '32M');
            return str_repeat('x', 64 * 1024 * 1024);  // PHP Fatal error: Allowed memory size ...
        case 'hang':
            // Runs past any timeout; leaves its pid for the test to check it was killed.
            file_put_contents(getenv('LAMBDA_TASK_ROOT') . '/hanging.pid', (string) getmypid());
            while (true) {
                sleep(1);
            }
        case 'big':
            return str_repeat('x', 7 * 1024 * 1024);  // over Lambda's 6 MB response limit
    }
    return [
        'hello' => $event['name'] ?? 'world',
        'event' => $event,
        'pid' => getmypid(),
        'ppid' => function_exists('posix_getppid') ? posix_getppid() : 0,
        'requestId' => $context->getAwsRequestId(),
        'remainingMs' => $context->getRemainingTimeInMillis(),
        'invokedFunctionArn' => $context->getInvokedFunctionArn(),
        'traceId' => $context->getTraceId(),
        'env' => [
            'GREETING' => getenv('GREETING'),
            'SERVER_GREETING' => $_SERVER['GREETING'] ?? null,
            'AWS_LAMBDA_FUNCTION_NAME' => getenv('AWS_LAMBDA_FUNCTION_NAME'),
            'AWS_LAMBDA_FUNCTION_VERSION' => getenv('AWS_LAMBDA_FUNCTION_VERSION'),
            'AWS_LAMBDA_FUNCTION_MEMORY_SIZE' => getenv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE'),
            'LAMBDA_TASK_ROOT' => getenv('LAMBDA_TASK_ROOT'),
            '_HANDLER' => getenv('_HANDLER'),
            'LAMBDA_INVOCATION_CONTEXT' => getenv('LAMBDA_INVOCATION_CONTEXT'),
            'LAMBDA_REQUEST_ID' => getenv('LAMBDA_REQUEST_ID'),
            '_X_AMZN_TRACE_ID' => getenv('_X_AMZN_TRACE_ID'),
            'cwd' => getcwd(),
        ],
    ];
};
