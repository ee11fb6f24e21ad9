<?php

namespace App;

final class Greeter
{
    public function greet(string $path): string
    {
        return sprintf("php-composer: autoloaded %s answers %s on PHP %s\n", self::class, $path, PHP_VERSION);
    }
}
