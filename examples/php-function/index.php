<?php
// A Bref "function" handler: the file returns a callable that gets the event (decoded JSON) and the
// context, and returns a value that becomes the JSON response. The same file runs on AWS Lambda
// with Bref's php-82 layer.

return function (array $event, $context): array {
    error_log('greeting ' . ($event['name'] ?? 'world'));  // goes to the function's log
    return [
        'hello' => $event['name'] ?? 'world',
        'greeting' => getenv('GREETING') . ', ' . ($event['name'] ?? 'world'),
        'php' => PHP_VERSION,
        'requestId' => $context->getAwsRequestId(),
        'remainingMs' => $context->getRemainingTimeInMillis(),
    ];
};
