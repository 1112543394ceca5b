<?php

// Front controller (the function's handler: `handler: public/index.php`).
// Under cutover and Bref it runs in php-fpm; locally: php -S 127.0.0.1:8000 -t public public/index.php

declare(strict_types=1);

use App\App;
use Symfony\Component\HttpFoundation\Request;

$root = dirname(__DIR__);

if (is_file($root . '/vendor/autoload.php')) {
    require $root . '/vendor/autoload.php'; // a composer install (e.g. the app as deployed with Bref)
} else {
    // Debian's Symfony 5.4 components (php-symfony-http-foundation, php-symfony-routing).
    require_once '/usr/share/php/Symfony/Component/HttpFoundation/autoload.php';
    require_once '/usr/share/php/Symfony/Component/Routing/autoload.php';
}
require_once $root . '/src/App.php';

$request = Request::createFromGlobals();
$response = (new App($root))->handle($request);
$response->prepare($request)->send();
