<?php
// Returns something that is neither callable nor a handler object.

return 42;
