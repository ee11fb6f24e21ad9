<?php
// php-index: a lone index.php, served by PHP's built-in server.
header('Content-Type: text/plain; charset=utf-8');
printf("php-index on PHP %s via %s: %s\n", PHP_VERSION, PHP_SAPI, $_SERVER['REQUEST_URI']);
