// Identifiers in AWS's shapes: request ids (UUID v4 text) and deployment ids ("d-" + 9 characters).
#pragma once

#include <string>

#include "common/random.h"

namespace cutover {

// "8476a536-e9f4-41e8-9739-2dfe598c3fcd"
std::string NewRequestId(Random& random);
// "d-7XK3Q9ZB1"
std::string NewDeploymentId(Random& random);
// 64 hex characters (256 bits) straight from the OS's random source, for secrets (tokens): never
// from a seeded Random, whose outputs reveal the ones that follow.
std::string NewSecretToken();

}  // namespace cutover
