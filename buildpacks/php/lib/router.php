<?php
// Router of PHP's built-in server for the PHP buildpack (php -S 0.0.0.0:$PORT -t DOCROOT
// router.php): existing files are served as they are (PHP scripts run), other paths go to the
// document root's index.php (front controller), and the app's own files (dotfiles, vendor/,
// composer.json, the Procfile) are never served.
$root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
$parts = array_values(array_filter(explode('/', $path), 'strlen'));
$hidden = ['vendor', 'composer.json', 'composer.lock', 'Procfile', 'paas-expect.json', 'node_modules'];
foreach ($parts as $i => $part) {
    if ($part[0] === '.' || ($i === 0 && in_array($part, $hidden, true))) {
        http_response_code(404);
        header('Content-Type: text/plain; charset=utf-8');
        echo "404 Not Found\n";
        return true;
    }
}
$file = $root . $path;
if ($path !== '/' && is_file($file)) {
    return false; // static file or PHP script: the built-in server handles it
}
if (is_dir($file) && (is_file("$file/index.php") || is_file("$file/index.html"))) {
    return false;
}
if (is_file("$root/index.php")) {
    $_SERVER['SCRIPT_NAME'] = '/index.php';
    $_SERVER['SCRIPT_FILENAME'] = "$root/index.php";
    chdir($root);
    require "$root/index.php";
    return true;
}
return false;
