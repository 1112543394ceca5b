<?php
// A handler object with handle($event, $context), like Bref\Event\Handler implementations.

return new class {
    public function handle($event, $context): array
    {
        return ['handledBy' => 'object', 'requestId' => $context->getAwsRequestId()];
    }
};
