<?php
// A console command (php-82-console): prints its arguments; `fail N` exits with status N.

echo json_encode(array_slice($argv, 1)), "\n";
fwrite(STDERR, "console stderr line\n");
if (($argv[1] ?? '') === 'fail') {
    exit((int) ($argv[2] ?? 1));
}
if (($argv[1] ?? '') === 'env') {
    echo getenv('GREETING'), ' ', json_decode((string) getenv('LAMBDA_INVOCATION_CONTEXT'), true)['awsRequestId'] ?? '', "\n";
}
