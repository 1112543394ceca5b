<?php
// The script of anchors.md row 1 (nginx -> php-fpm), for the hand-run throughput test.
header('Content-Type: application/json');
echo json_encode(['method' => $_SERVER['REQUEST_METHOD'], 'query' => $_SERVER['QUERY_STRING'] ?? '']);
