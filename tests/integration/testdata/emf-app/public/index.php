<?php
// Every order fails (the response is still 200): the application reports it by EMF on stderr,
// the way Bref's monolog formatter or Lambda Powertools would.
error_log(json_encode([
    '_aws' => [
        'Timestamp' => (int) (microtime(true) * 1000),
        'CloudWatchMetrics' => [[
            'Namespace' => 'Shop',
            'Dimensions' => [['Service']],
            'Metrics' => [['Name' => 'FailedOrders', 'Unit' => 'Count']],
        ]],
    ],
    'Service' => 'shop',
    'FailedOrders' => 1,
]));
header('Content-Type: application/json');
echo json_encode(['order' => 'failed']);
