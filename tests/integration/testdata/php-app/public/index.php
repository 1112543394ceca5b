<?php
// One front controller for tests/integration/php_test.cc: the last path segment picks the case.
$path = $_SERVER['PATH_INFO'] ?? $_SERVER['REQUEST_URI'];
$case = basename(parse_url($path, PHP_URL_PATH));
$input = file_get_contents('php://input');

function json_out($value) {
    header('Content-Type: application/json');
    echo json_encode($value);
}

switch ($case) {
    case 'q':
        json_out([
            'method' => $_SERVER['REQUEST_METHOD'],
            'uri' => $_SERVER['REQUEST_URI'],
            'get' => $_GET,
            'post' => $_POST,
            'json' => json_decode($input, true),
            'custom' => $_SERVER['HTTP_X_CUSTOM'] ?? null,
            'cookie' => $_COOKIE,
            'script' => $_SERVER['SCRIPT_FILENAME'],
            'request_context' => json_decode($_SERVER['LAMBDA_REQUEST_CONTEXT'] ?? 'null', true),
            'invocation_context' => json_decode($_SERVER['LAMBDA_INVOCATION_CONTEXT'] ?? 'null', true),
            'env' => [getenv('FN_MARKER'), getenv('APP_MARKER'), getenv('AWS_LAMBDA_FUNCTION_VERSION'),
                      getenv('AWS_LAMBDA_FUNCTION_NAME')],
        ]);
        break;
    case 'upload':
        json_out(['length' => strlen($input), 'sha256' => hash('sha256', $input)]);
        break;
    case 'cookies':
        setcookie('first', '1');
        setcookie('second', '2');
        header('X-Repeated: one', false);
        header('X-Repeated: two', false);
        echo 'cookies';
        break;
    case 'binary':
        header('Content-Type: application/octet-stream');
        $bytes = '';
        for ($i = 0; $i < 256; $i++) {
            $bytes .= chr($i);
        }
        echo $bytes, $bytes;
        break;
    case 'fatal':
        error_log('about to fail: marker-fatal');
        undefined_function_for_the_test();
        break;
    case 'sleep':
        usleep((int) ($_GET['ms'] ?? 0) * 1000);
        json_out(['slept' => (int) ($_GET['ms'] ?? 0), 'pid' => getmypid()]);
        break;
    case 'teapot':
        http_response_code(418);
        echo 'short and stout';
        break;
    default:
        http_response_code(404);
        json_out(['missing' => $case]);
}
