// The one mapping from StatusCode to HTTP, and the JSON error body every /v1 endpoint uses:
// {"code": "NotFound", "message": "..."}. docs/API.md tables the same mapping.
#pragma once

#include <string>

#include "common/status.h"

namespace cutover::api {

unsigned HttpStatusFor(StatusCode code);
std::string ErrorBody(const Status& status);

}  // namespace cutover::api
