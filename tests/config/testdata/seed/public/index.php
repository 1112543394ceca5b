<?php
// Stand-in for the article's Symfony front controller (public/index.php).
header('Content-Type: text/plain');
echo "Hello from the seed\n";
