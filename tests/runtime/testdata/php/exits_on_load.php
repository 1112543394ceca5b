<?php
// Ends the process while loading (a PHP fatal error would, too).

echo "exiting while loading\n";
exit(7);
