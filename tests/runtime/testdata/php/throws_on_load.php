<?php
// Fails while loading.

throw new LogicException('cannot load me');
