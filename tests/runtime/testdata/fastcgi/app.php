<?php
// The FastCGI client's integration tests (tests/runtime/fastcgi_client_test.cc) drive this script
// through a real php-fpm; PATH_INFO picks the case.
$path = $_SERVER['PATH_INFO'] ?? '/';
switch ($path) {
    case '/echo':
        $input = file_get_contents('php://input');
        $server = [];
        foreach ($_SERVER as $k => $v) {
            if (is_string($v)) {
                $server[$k] = $v;
            }
        }
        header('Content-Type: application/json');
        echo json_encode([
            'method' => $_SERVER['REQUEST_METHOD'],
            'get' => $_GET,
            'post' => $_POST,
            'json' => json_decode($input, true),
            'input_length' => strlen($input),
            'server' => $server,
            'env' => getenv('CUTOVER_FCGI_TEST'),
        ]);
        break;
    case '/upload':
        $input = file_get_contents('php://input');
        header('Content-Type: application/json');
        echo json_encode(['length' => strlen($input), 'sha256' => hash('sha256', $input)]);
        break;
    case '/cookies':
        setcookie('first', '1');
        setcookie('second', '2');
        header('X-Repeated: one', false);
        header('X-Repeated: two', false);
        echo 'cookies';
        break;
    case '/binary':
        header('Content-Type: application/octet-stream');
        $bytes = '';
        for ($i = 0; $i < 256; $i++) {
            $bytes .= chr($i);
        }
        echo $bytes, "\r\n\r\n", $bytes;
        break;
    case '/status':
        http_response_code(404);
        echo 'not here';
        break;
    case '/redirect':
        header('Location: /elsewhere');
        break;
    case '/fatal':
        cutover_no_such_function();
        break;
    case '/loop':
        while (true) {
        }
    case '/stderr':
        error_log('cutover-stderr-line');
        echo 'logged';
        break;
    case '/emf':
        // An Embedded Metric Format line through error_log(), as Bref's monolog formatter writes.
        error_log('{"_aws":{"CloudWatchMetrics":[{"Namespace":"php","Dimensions":[[]],'
            . '"Metrics":[{"Name":"Renders","Unit":"Count"}]}]},"Renders":1}');
        echo 'measured';
        break;
    case '/emf-stderr':
        // The same on the worker's stderr, as Monolog's StreamHandler('php://stderr') writes it.
        file_put_contents('php://stderr', '{"_aws":{"CloudWatchMetrics":[{"Namespace":"php",'
            . '"Dimensions":[[]],"Metrics":[{"Name":"Streamed"}]}]},"Streamed":2}' . "\n");
        echo 'streamed';
        break;
    case '/big':
        echo str_repeat('x', (int) ($_GET['n'] ?? 0));
        break;
    case '/slow':
        usleep(1000 * (int) ($_GET['ms'] ?? 0));
        echo 'slow';
        break;
    default:
        http_response_code(404);
        echo 'no case ', $path;
}
