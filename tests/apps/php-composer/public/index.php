<?php
// Front controller: every path that is not a file comes here.
require __DIR__ . '/../vendor/autoload.php';

header('Content-Type: text/plain; charset=utf-8');
echo (new App\Greeter())->greet(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
