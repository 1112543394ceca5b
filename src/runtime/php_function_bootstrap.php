<?php
/*
 * cutover's PHP "function" runtime: what Bref's function and console layers (php-82, php-74,
 * php-82-console, ...) run, over the Lambda Runtime API.
 *
 * cutover compiles this file into its binary, writes it to <data>/runtime/php_function_bootstrap.php
 * and starts every instance as a shell loop around it, as Bref v1's layer bootstrap does
 * (`while true; do php bootstrap.php; done`):
 *
 *   /bin/sh -c '<loop>' <php_cli> php_function_bootstrap.php function|console
 *
 * so each PHP process is fresh. Environment: Lambda's (_HANDLER, LAMBDA_TASK_ROOT,
 * AWS_LAMBDA_RUNTIME_API, ...). Only PHP's standard extensions are used (no curl): the Runtime API
 * is plain HTTP/1.1 on 127.0.0.1, spoken over a stream socket kept alive for the process' lifetime.
 * Written for PHP 7.4 and later.
 *
 * function mode (Bref's FunctionRuntime):
 *   - the Composer autoloader is required first when there is one ($BREF_AUTOLOAD_PATH, else
 *     $LAMBDA_TASK_ROOT/vendor/autoload.php);
 *   - `$LAMBDA_TASK_ROOT/$_HANDLER` is `require`d and must return a callable, an object with a
 *     `handle($event, $context)` method (Bref\Event\Handler), or a PSR-15 handler when Bref is
 *     installed. Anything else, or a missing file: POST /init/error with
 *     Lambda-Runtime-Function-Error-Type Runtime.NoSuchHandler; a Throwable while loading:
 *     Runtime.UnknownReason. Then exit(1);
 *   - GET /next, then handler(event decoded as an associative array, context). The context is a
 *     Bref\Context\Context (the real class when bref/bref is installed, else ours under that name):
 *     getAwsRequestId(), getDeadlineMs(), getInvokedFunctionArn(), getTraceId(),
 *     getRemainingTimeInMillis(), and JSON {awsRequestId, deadlineMs, invokedFunctionArn, traceId},
 *     also exported as LAMBDA_INVOCATION_CONTEXT, with LAMBDA_REQUEST_ID and _X_AMZN_TRACE_ID;
 *   - the JSON-encoded return value goes to /invocation/{id}/response. An uncaught Throwable goes
 *     to /invocation/{id}/error as {errorType: class, errorMessage, errorLocation, stackTrace} with
 *     Lambda-Runtime-Function-Error-Type Unhandled (a value that cannot be JSON-encoded:
 *     Runtime.MarshalError), logged as Bref does ("<id>\tInvoke Error\t{...}"), and the process
 *     exits: Bref never reuses a process after a failed invocation;
 *   - after BREF_LOOP_MAX invocations (default 1) the process exits 0 and the loop starts another.
 *
 * console mode (Bref's ConsoleRuntime): `$LAMBDA_TASK_ROOT/$_HANDLER` is a PHP script run as a
 * command per invocation. The event is the argument string (or {"cli": "..."}); like Bref it is
 * appended unescaped to `php <handler>` and parsed by /bin/sh, so quoting works as in a terminal.
 * stdout and stderr are merged, echoed to the function log as they arrive, and the result is
 * {"exitCode": 0, "output": "..."}. A non-zero exit status is an error (Bref throws
 * "The command exited with a non-zero status code: N", errorType Exception); a command that runs
 * until one second before the deadline is killed (a RuntimeException). One process serves any
 * number of invocations, as Bref's console bootstrap does: the command is a process of its own.
 *
 * Robustness (cutover's additions):
 *   - when the process dies in the middle of an invocation (exit(), a PHP fatal error such as an
 *     exhausted memory_limit) a shutdown function reports it to /invocation/{id}/error as
 *     Runtime.ExitError, so the caller gets an error at once instead of waiting for the timeout;
 *   - the same for the handler file ending the process while it loads (an init error);
 *   - a handler that fails to load in a later process (the Runtime API accepts /init/error only
 *     once per instance) answers the next invocation with the init error instead;
 *   - when the Runtime API refuses /next or cannot be reached, the process exits with
 *     EXIT_API_UNAVAILABLE (69) and the shell loop stops with it: the instance ends instead of
 *     spinning.
 */

declare(strict_types=1);

namespace CutoverRuntime;

use Throwable;

const API_PREFIX = '/2018-06-01/runtime';
// The shell loop around this script stops on this status (see instance_env.h).
const EXIT_API_UNAVAILABLE = 69;
// What a console command's `php` may run before the deadline (Bref: remaining time - 1 s).
const CONSOLE_DEADLINE_MARGIN_S = 1.0;

/** The Runtime API cannot be reached or refuses us: the instance should end. */
final class ApiUnavailable extends \RuntimeException
{
}

/** The handler cannot be loaded. */
final class InitFailure extends \RuntimeException
{
    /** @var string Lambda-Runtime-Function-Error-Type */
    public $reason;
    /** @var string */
    public $errorType;
    /** @var string[] */
    public $stackTrace;

    public function __construct(string $reason, string $errorType, string $message, array $stackTrace = [])
    {
        parent::__construct($message);
        $this->reason = $reason;
        $this->errorType = $errorType;
        $this->stackTrace = $stackTrace;
    }
}

/** Calls $fn with PHP warnings silenced (socket errors are reported through return values). */
function quietly(callable $fn)
{
    set_error_handler(static function (): bool {
        return true;
    });
    try {
        return $fn();
    } finally {
        restore_error_handler();
    }
}

/** One HTTP/1.1 connection to the Runtime API, kept alive; reopened once if the server closed it. */
final class RuntimeApi
{
    /** @var string host:port */
    private $address;
    /** @var resource|null */
    private $socket = null;

    public function __construct(string $address)
    {
        $this->address = $address;
    }

    /**
     * @param array<string, string> $headers
     * @return array{0: int, 1: array<string, string>, 2: string} status, lower-cased headers, body
     */
    public function request(string $method, string $path, string $body = '', array $headers = []): array
    {
        $reused = $this->socket !== null;
        try {
            return $this->exchange($method, $path, $body, $headers);
        } catch (ApiUnavailable $e) {
            $this->close();
            if (!$reused) {
                throw $e;
            }
            // A kept-alive connection the server had closed: once more on a fresh one.
            return $this->exchange($method, $path, $body, $headers);
        }
    }

    public function close(): void
    {
        if ($this->socket !== null) {
            quietly(function () {
                return fclose($this->socket);
            });
            $this->socket = null;
        }
    }

    private function exchange(string $method, string $path, string $body, array $headers): array
    {
        if ($this->socket === null) {
            $errno = 0;
            $errstr = '';
            $socket = quietly(function () use (&$errno, &$errstr) {
                return stream_socket_client('tcp://' . $this->address, $errno, $errstr, 10);
            });
            if ($socket === false) {
                throw new ApiUnavailable("cannot connect to the Runtime API at {$this->address}: $errstr");
            }
            // GET /next blocks until an event arrives, however long that takes: no read timeout.
            stream_set_timeout($socket, 365 * 24 * 3600);
            $this->socket = $socket;
        }
        $head = "$method " . API_PREFIX . "$path HTTP/1.1\r\nHost: {$this->address}\r\n"
            . 'User-Agent: cutover-php/' . PHP_VERSION . "\r\n";
        if ($method !== 'GET') {
            $head .= 'Content-Length: ' . strlen($body) . "\r\n";
        }
        foreach ($headers as $name => $value) {
            $head .= "$name: $value\r\n";
        }
        // A failed write is not final: the server may have answered (413) before hanging up.
        $this->writeAll($head . "\r\n" . $body);
        return $this->readResponse();
    }

    private function writeAll(string $data): bool
    {
        $length = strlen($data);
        for ($offset = 0; $offset < $length;) {
            $chunk = $offset === 0 && $length <= 65536 ? $data : substr($data, $offset, 65536);
            $written = quietly(function () use ($chunk) {
                return fwrite($this->socket, $chunk);
            });
            if ($written === false || $written === 0) {
                return false;
            }
            $offset += $written;
        }
        return true;
    }

    private function readLine(): string
    {
        $line = quietly(function () {
            return fgets($this->socket);
        });
        if ($line === false) {
            throw new ApiUnavailable('the Runtime API closed the connection');
        }
        return $line;
    }

    private function readExactly(int $length): string
    {
        $data = '';
        while (strlen($data) < $length) {
            $chunk = quietly(function () use ($length, $data) {
                return fread($this->socket, min(65536, $length - strlen($data)));
            });
            if ($chunk === false || ($chunk === '' && feof($this->socket))) {
                throw new ApiUnavailable('the Runtime API closed the connection mid-response');
            }
            $data .= $chunk;
        }
        return $data;
    }

    private function readResponse(): array
    {
        $statusLine = $this->readLine();
        if (!preg_match('#^HTTP/1\.[01] (\d{3})#', $statusLine, $m)) {
            throw new ApiUnavailable('malformed Runtime API response: ' . trim($statusLine));
        }
        $status = (int) $m[1];
        $headers = [];
        while (($line = rtrim($this->readLine(), "\r\n")) !== '') {
            $colon = strpos($line, ':');
            if ($colon !== false) {
                $headers[strtolower(substr($line, 0, $colon))] = trim(substr($line, $colon + 1));
            }
        }
        $close = strtolower($headers['connection'] ?? '') === 'close';
        if (isset($headers['content-length'])) {
            $body = $this->readExactly((int) $headers['content-length']);
        } elseif (strtolower($headers['transfer-encoding'] ?? '') === 'chunked') {
            $body = '';
            while (($size = hexdec(trim(explode(';', $this->readLine())[0]))) > 0) {
                $body .= $this->readExactly((int) $size);
                $this->readLine();
            }
            while (rtrim($this->readLine(), "\r\n") !== '') {
                // trailers
            }
        } else {
            $body = (string) stream_get_contents($this->socket);
            $close = true;
        }
        if ($close) {
            $this->close();
        }
        return [$status, $headers, $body];
    }
}

/** The invocation context (Bref's Context, under that name unless bref/bref provides it). */
final class Context implements \JsonSerializable
{
    /** @var string */
    private $awsRequestId;
    /** @var int */
    private $deadlineMs;
    /** @var string */
    private $invokedFunctionArn;
    /** @var string */
    private $traceId;

    public function __construct(string $awsRequestId, int $deadlineMs, string $invokedFunctionArn, string $traceId)
    {
        $this->awsRequestId = $awsRequestId;
        $this->deadlineMs = $deadlineMs;
        $this->invokedFunctionArn = $invokedFunctionArn;
        $this->traceId = $traceId;
    }

    public function getAwsRequestId(): string
    {
        return $this->awsRequestId;
    }

    public function getDeadlineMs(): int
    {
        return $this->deadlineMs;
    }

    public function getRemainingTimeInMillis(): int
    {
        return $this->deadlineMs - intval(microtime(true) * 1000);
    }

    public function getInvokedFunctionArn(): string
    {
        return $this->invokedFunctionArn;
    }

    public function getTraceId(): string
    {
        return $this->traceId;
    }

    public function jsonSerialize(): array
    {
        return [
            'awsRequestId' => $this->awsRequestId,
            'deadlineMs' => $this->deadlineMs,
            'invokedFunctionArn' => $this->invokedFunctionArn,
            'traceId' => $this->traceId,
        ];
    }
}

/** `require`s the handler file in a scope of its own. */
function requireHandlerFile(string $file)
{
    return require $file;
}

function setEnvironment(string $name, string $value): void
{
    putenv("$name=$value");
    $_SERVER[$name] = $value;
    $_ENV[$name] = $value;
}

function errorDocument(Throwable $e): array
{
    return [
        'errorType' => get_class($e),
        'errorMessage' => $e->getMessage(),
        'errorLocation' => 'File: ' . $e->getFile() . ', Line: ' . $e->getLine(),
        'stackTrace' => explode(PHP_EOL, $e->getTraceAsString()),
    ];
}

function encodeJson($value): string
{
    $json = json_encode($value, JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR);
    return $json === false ? '{}' : $json;
}

function logLine(string $line): void
{
    fwrite(STDERR, $line . "\n");
}

/** Runs a console command (Bref's console layer); see the file comment. */
function runConsoleCommand(string $handlerFile, $event, $context): array
{
    if (is_array($event)) {
        $cliOptions = $event['cli'] ?? '';  // Bref's former invocation format
    } elseif (is_string($event)) {
        $cliOptions = $event;
    } else {
        $cliOptions = '';
    }
    if (!is_string($cliOptions)) {
        $cliOptions = '';
    }
    // `exec`: the shell becomes php, so a timeout's kill reaches the command itself.
    $command = 'exec ' . escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg($handlerFile)
        . ($cliOptions === '' ? '' : ' ' . $cliOptions);
    $pipes = [];
    $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes);
    if (!is_resource($process)) {
        throw new \RuntimeException("Cannot run the command: $command");
    }
    $timeout = max(1.0, $context->getRemainingTimeInMillis() / 1000 - CONSOLE_DEADLINE_MARGIN_S);
    $deadline = microtime(true) + $timeout;
    stream_set_blocking($pipes[1], false);
    $output = '';
    while (true) {
        $left = $deadline - microtime(true);
        if ($left <= 0) {
            proc_terminate($process, 9);
            fclose($pipes[1]);
            proc_close($process);
            throw new \RuntimeException(sprintf('The command "%s" exceeded the timeout of %s seconds.', $command, round($timeout, 3)));
        }
        $read = [$pipes[1]];
        $write = null;
        $except = null;
        $ready = quietly(function () use (&$read, &$write, &$except, $left) {
            return stream_select($read, $write, $except, (int) $left, (int) (($left - (int) $left) * 1000000));
        });
        if (!$ready) {
            continue;  // the timeout passed (checked above), or a signal interrupted the wait
        }
        $chunk = fread($pipes[1], 65536);
        if ($chunk === false || $chunk === '') {
            if (feof($pipes[1])) {
                break;
            }
            continue;
        }
        echo $chunk;  // into the function's log as it arrives, as Bref does
        $output .= $chunk;
    }
    fclose($pipes[1]);
    $exitCode = proc_close($process);
    if ($exitCode > 0) {
        throw new \Exception('The command exited with a non-zero status code: ' . $exitCode);
    }
    return [
        'exitCode' => $exitCode,  // always 0, as with Bref
        'output' => $output,
    ];
}

final class Runtime
{
    /** @var RuntimeApi */
    private $api;
    /** @var string "function" or "console" */
    private $mode;
    /** @var string "init", "waiting", "invoking" or "done": what the shutdown function reports */
    private $phase = 'init';
    /** @var string */
    private $requestId = '';

    public function __construct(RuntimeApi $api, string $mode)
    {
        $this->api = $api;
        $this->mode = $mode;
    }

    public function run(): void
    {
        register_shutdown_function([$this, 'onShutdown']);
        try {
            $handler = $this->mode === 'console' ? $this->consoleHandler() : $this->loadHandler();
        } catch (InitFailure $e) {
            $this->failInit($e->reason, $e->errorType, $e->getMessage(), $e->stackTrace);
            $this->phase = 'done';
            exit(1);
        } catch (Throwable $e) {
            $doc = errorDocument($e);
            $this->failInit('Runtime.UnknownReason', $doc['errorType'], $doc['errorMessage'], $doc['stackTrace']);
            $this->phase = 'done';
            exit(1);
        }
        $this->phase = 'waiting';

        if ($this->mode === 'console') {
            while (true) {
                $this->processNextEvent($handler);
            }
        }
        $loopMax = max(1, (int) (getenv('BREF_LOOP_MAX') ?: 1));
        for ($loops = 0; $loops < $loopMax; ++$loops) {
            if (!$this->processNextEvent($handler)) {
                // A failed invocation may have left the application in a bad state: a fresh process.
                $this->phase = 'done';
                exit(1);
            }
        }
        $this->phase = 'done';
        exit(0);
    }

    /** @return callable|object */
    private function loadHandler()
    {
        $root = getenv('LAMBDA_TASK_ROOT') ?: (string) getcwd();
        $autoload = getenv('BREF_AUTOLOAD_PATH');
        if ($autoload) {
            if (!is_file($autoload)) {
                throw new InitFailure('Runtime.UnknownReason', 'Internal', "BREF_AUTOLOAD_PATH `$autoload` doesn't exist");
            }
            require_once $autoload;
        } elseif (is_file($root . '/vendor/autoload.php')) {
            require_once $root . '/vendor/autoload.php';
        }
        // Handlers may type-hint Bref's Context without bref/bref being installed.
        if (!class_exists('Bref\Context\Context')) {
            class_alias(Context::class, 'Bref\Context\Context');
        }

        $name = (string) getenv('_HANDLER');
        $file = $root . '/' . $name;
        if ($name === '' || !is_file($file)) {
            throw new InitFailure('Runtime.NoSuchHandler', 'Runtime.NoSuchHandler', "Handler `$file` doesn't exist");
        }
        $handler = requireHandlerFile($file);
        if (!is_callable($handler) && !(is_object($handler) && method_exists($handler, 'handle'))) {
            throw new InitFailure(
                'Runtime.NoSuchHandler',
                'Runtime.NoSuchHandler',
                "Handler `$file` must return a function or object handler (a callable, or an object with a handle(\$event, \$context) method), got "
                    . (is_object($handler) ? get_class($handler) : gettype($handler))
            );
        }
        return $handler;
    }

    private function consoleHandler(): callable
    {
        $root = getenv('LAMBDA_TASK_ROOT') ?: (string) getcwd();
        $name = (string) getenv('_HANDLER');
        $file = $root . '/' . $name;
        if ($name === '' || !is_file($file)) {
            throw new InitFailure('Runtime.NoSuchHandler', 'Runtime.NoSuchHandler', "Handler `$file` doesn't exist");
        }
        return static function ($event, $context) use ($file): array {
            return runConsoleCommand($file, $event, $context);
        };
    }

    /** Bref's Invoker: PSR-15 (with bref/bref), Bref\Event\Handler, a callable, else handle(). */
    private function invoke($handler, $event, $context)
    {
        if ($handler instanceof \Psr\Http\Server\RequestHandlerInterface && class_exists('Bref\Event\Http\Psr15Handler')) {
            $handler = new \Bref\Event\Http\Psr15Handler($handler);
        }
        if ($handler instanceof \Bref\Event\Handler) {
            return $handler->handle($event, $context);
        }
        if (is_callable($handler)) {
            return $handler($event, $context);
        }
        return $handler->handle($event, $context);
    }

    /** @return bool whether the invocation succeeded */
    private function processNextEvent($handler): bool
    {
        [$status, $headers, $body] = $this->api->request('GET', '/invocation/next');
        if ($status !== 200) {
            throw new ApiUnavailable("GET /invocation/next answered $status: $body");
        }
        $id = $headers['lambda-runtime-aws-request-id'] ?? '';
        if ($id === '') {
            throw new ApiUnavailable('GET /invocation/next answered without Lambda-Runtime-Aws-Request-Id');
        }
        $deadlineMs = (int) ($headers['lambda-runtime-deadline-ms'] ?? 0);
        $arn = $headers['lambda-runtime-invoked-function-arn'] ?? '';
        $traceId = $headers['lambda-runtime-trace-id'] ?? '';
        $context = class_exists('Bref\Context\Context')
            ? new \Bref\Context\Context($id, $deadlineMs, $arn, $traceId)
            : new Context($id, $deadlineMs, $arn, $traceId);
        setEnvironment('LAMBDA_INVOCATION_CONTEXT', encodeJson($context));
        setEnvironment('LAMBDA_REQUEST_ID', $id);
        if ($traceId !== '') {
            setEnvironment('_X_AMZN_TRACE_ID', $traceId);
        } else {
            putenv('_X_AMZN_TRACE_ID');
            unset($_SERVER['_X_AMZN_TRACE_ID'], $_ENV['_X_AMZN_TRACE_ID']);
        }

        $this->phase = 'invoking';
        $this->requestId = $id;
        $error = null;
        try {
            try {
                $event = $body === '' ? null : json_decode($body, true, 512, JSON_THROW_ON_ERROR);
            } catch (\JsonException $e) {
                throw new \RuntimeException('Unable to unmarshal input: ' . $e->getMessage());
            }
            $result = $this->invoke($handler, $event, $context);
            try {
                $payload = json_encode($result, JSON_THROW_ON_ERROR);
            } catch (\JsonException $e) {
                $error = [
                    'errorType' => 'Runtime.MarshalError',
                    'errorMessage' => 'Unable to marshal response: ' . $e->getMessage(),
                    'stackTrace' => [],
                ];
            }
        } catch (Throwable $e) {
            $error = errorDocument($e);
        }
        if ($error !== null) {
            $this->reportError($id, $error, 'Unhandled');
            return false;
        }

        [$status, , $reply] = $this->api->request('POST', "/invocation/$id/response", $payload, ['Content-Type' => 'application/json']);
        $this->phase = 'waiting';
        if ($status >= 500) {
            throw new ApiUnavailable("POST /invocation/$id/response answered $status: $reply");
        }
        if ($status >= 400) {
            // 413: the response is too large and the invocation has failed already; other 4xx: the
            // Runtime API no longer expects this answer. Either way, a fresh process.
            logLine("cutover: the Runtime API refused the response ($status): $reply");
            return false;
        }
        return true;
    }

    private function reportError(string $id, array $doc, string $errorTypeHeader): void
    {
        // Logged the way Bref logs it (after the Node.js runtime).
        echo $id . "\tInvoke Error\t" . encodeJson($doc) . PHP_EOL;
        unset($doc['errorLocation']);
        $document = [
            'errorType' => $doc['errorType'],
            'errorMessage' => $doc['errorMessage'],
            'stackTrace' => $doc['stackTrace'],
        ];
        [$status, , $reply] = $this->api->request(
            'POST',
            "/invocation/$id/error",
            encodeJson($document),
            ['Content-Type' => 'application/json', 'Lambda-Runtime-Function-Error-Type' => $errorTypeHeader]
        );
        $this->phase = 'waiting';
        if ($status >= 500) {
            throw new ApiUnavailable("POST /invocation/$id/error answered $status: $reply");
        }
    }

    /** Reports an init failure: /init/error, or the next invocation's /error in a later process. */
    private function failInit(string $reason, string $errorType, string $message, array $stackTrace): void
    {
        $this->phase = 'done';
        logLine("Fatal error: $errorType: $message");
        $document = encodeJson(['errorType' => $errorType, 'errorMessage' => $message, 'stackTrace' => $stackTrace]);
        [$status] = $this->api->request(
            'POST',
            '/init/error',
            $document,
            ['Content-Type' => 'application/json', 'Lambda-Runtime-Function-Error-Type' => $reason]
        );
        if ($status !== 403) {
            return;
        }
        // This instance initialised once already (an earlier process): the init error becomes the
        // answer to the next invocation. /next refused (the init failed before) ends the instance.
        [$status, $headers, $body] = $this->api->request('GET', '/invocation/next');
        if ($status !== 200 || ($headers['lambda-runtime-aws-request-id'] ?? '') === '') {
            throw new ApiUnavailable("GET /invocation/next answered $status: $body");
        }
        $id = $headers['lambda-runtime-aws-request-id'];
        $this->api->request(
            'POST',
            "/invocation/$id/error",
            $document,
            ['Content-Type' => 'application/json', 'Lambda-Runtime-Function-Error-Type' => $reason]
        );
    }

    /** The Runtime API is gone: nothing left to report at exit. */
    public function abandon(): void
    {
        $this->phase = 'done';
    }

    /** The process ends: report an invocation or an init it cut short (exit(), a fatal error). */
    public function onShutdown(): void
    {
        if ($this->phase !== 'init' && $this->phase !== 'invoking') {
            return;
        }
        ini_set('memory_limit', '-1');
        $last = error_get_last();
        $fatal = E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR;
        $why = $last !== null && ($last['type'] & $fatal)
            ? sprintf('PHP Fatal error: %s in %s:%d', $last['message'], $last['file'], $last['line'])
            : 'the PHP process exited';
        try {
            if ($this->phase === 'init') {
                $this->failInit('Runtime.ExitError', 'Runtime.ExitError', "The handler ended the process while loading: $why", []);
            } else {
                $id = $this->requestId;
                $this->phase = 'done';
                $message = "RequestId: $id Error: Runtime exited with error: $why";
                logLine($message);
                $this->api->request(
                    'POST',
                    "/invocation/$id/error",
                    encodeJson(['errorType' => 'Runtime.ExitError', 'errorMessage' => $message, 'stackTrace' => []]),
                    ['Content-Type' => 'application/json', 'Lambda-Runtime-Function-Error-Type' => 'Runtime.ExitError']
                );
            }
        } catch (Throwable $e) {
            logLine('cutover: ' . $e->getMessage());
        }
    }
}

function main(array $argv): void
{
    error_reporting(E_ALL);
    // Errors go to stderr once (the function log), with PHP's "PHP Warning: " prefix.
    ini_set('display_errors', '0');
    ini_set('log_errors', '1');
    ini_set('error_log', '');

    $mode = ($argv[1] ?? 'function') === 'console' ? 'console' : 'function';
    $address = (string) getenv('AWS_LAMBDA_RUNTIME_API');
    if ($address === '') {
        logLine('cutover: AWS_LAMBDA_RUNTIME_API is not set');
        exit(EXIT_API_UNAVAILABLE);
    }
    $runtime = new Runtime(new RuntimeApi($address), $mode);
    try {
        $runtime->run();
    } catch (ApiUnavailable $e) {
        $runtime->abandon();
        logLine('cutover: ' . $e->getMessage());
        exit(EXIT_API_UNAVAILABLE);
    }
}

main($argv);
