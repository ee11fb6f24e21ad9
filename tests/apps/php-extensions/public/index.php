<?php
// php-extensions: mbstring, xml and curl on the run stack.
header('Content-Type: text/plain; charset=utf-8');
$word = 'Grüße, 世界';
$xml = simplexml_load_string('<greeting lang="de">hallo</greeting>');
$dom = new DOMDocument();
$dom->loadXML('<p><b>dom</b></p>');
$curl = curl_version();
printf(
    "php-extensions: mb_strlen=%d strlen=%d mb_strtoupper=%s; simplexml=%s/%s; dom=%s; curl=%s\n",
    mb_strlen($word),
    strlen($word),
    mb_strtoupper($word),
    $xml['lang'],
    $xml,
    $dom->getElementsByTagName('b')->item(0)->textContent,
    isset($curl['version']) ? 'yes' : 'no'
);
