<?php

declare(strict_types=1);

namespace App;

use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\Routing\Exception\MethodNotAllowedException;
use Symfony\Component\Routing\Exception\ResourceNotFoundException;
use Symfony\Component\Routing\Matcher\UrlMatcher;
use Symfony\Component\Routing\RequestContext;
use Symfony\Component\Routing\Route;
use Symfony\Component\Routing\RouteCollection;

/**
 * The seed's demo app: a few JSON routes on Symfony's HttpFoundation and Routing components.
 *
 * Errors are handled the way a Symfony app in prod handles them: an uncaught exception becomes a
 * generic 500 response (details go to the log, not to the client), so on Lambda + Bref it counts
 * as an API Gateway 5XX error and not as a Lambda function error.
 *
 * The code stays PHP 7.4-compatible, the version the seed's serverless.yml asks for (php-74-fpm).
 */
final class App
{
    public const NAME = 'bref-canary-deployments-demo';

    /** Upper bound for /slow?ms=N, just above the function's timeout (28 s). */
    public const MAX_SLOW_MS = 30000;

    private string $root;

    private RouteCollection $routes;

    /** @param string $root the app root: the directory holding serverless.yml (and maybe FAULTY) */
    public function __construct(string $root)
    {
        $this->root = $root;
        $this->routes = new RouteCollection();
        $this->routes->add('home', new Route('/', ['_action' => 'home']));
        $this->routes->add('health', new Route('/health', ['_action' => 'health']));
        $this->routes->add('slow', new Route('/slow', ['_action' => 'slow']));
        $this->routes->add('checkout', new Route('/checkout', ['_action' => 'checkout']));
    }

    public function handle(Request $request): Response
    {
        try {
            $matcher = new UrlMatcher($this->routes, (new RequestContext())->fromRequest($request));
            $action = $matcher->match($request->getPathInfo())['_action'];

            return $this->$action($request);
        } catch (ResourceNotFoundException $e) {
            return new JsonResponse(['error' => 'Not Found', 'path' => $request->getPathInfo()], 404);
        } catch (MethodNotAllowedException $e) {
            return new JsonResponse(['error' => 'Method Not Allowed'], 405, ['Allow' => implode(', ', $e->getAllowedMethods())]);
        } catch (\Throwable $e) {
            error_log(sprintf('[%s] Uncaught %s: %s at %s:%d', self::NAME, get_class($e), $e->getMessage(), $e->getFile(), $e->getLine()));

            return new JsonResponse(['error' => 'Internal Server Error'], 500);
        }
    }

    private function home(Request $request): Response
    {
        return new JsonResponse(['app' => self::NAME, 'version' => $this->version(), 'php' => PHP_VERSION]);
    }

    private function health(Request $request): Response
    {
        return new JsonResponse(['status' => 'ok']);
    }

    private function slow(Request $request): Response
    {
        $ms = max(0, min(self::MAX_SLOW_MS, $request->query->getInt('ms', 1000)));
        usleep($ms * 1000);

        return new JsonResponse(['slept_ms' => $ms, 'version' => $this->version()]);
    }

    /** The canary's victim: the demo deploys a version whose checkout is broken. */
    private function checkout(Request $request): Response
    {
        if ($this->faulty()) {
            throw new \RuntimeException('checkout is broken in this version (FAULTY switch is on)');
        }

        return new JsonResponse(['status' => 'ordered', 'version' => $this->version()]);
    }

    /** The function version as Lambda (and cutover) passes it: AWS_LAMBDA_FUNCTION_VERSION. */
    private function version(): string
    {
        $version = self::env('AWS_LAMBDA_FUNCTION_VERSION');

        return $version === null || $version === '' ? 'unknown' : $version;
    }

    /** FAULTY=1 / FAULTY=true in the environment, or a file named FAULTY in the app root. */
    private function faulty(): bool
    {
        $switch = strtolower(trim(self::env('FAULTY') ?? ''));

        return $switch === '1' || $switch === 'true' || is_file($this->root . '/FAULTY');
    }

    /** php-fpm runs with clear_env = no, so the daemon's environment is in getenv() and $_SERVER. */
    private static function env(string $name): ?string
    {
        $value = getenv($name);
        if ($value === false) {
            $value = $_SERVER[$name] ?? null;
        }

        return is_string($value) ? $value : null;
    }
}
