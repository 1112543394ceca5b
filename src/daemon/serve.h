// The composition root: `cutover serve` builds every module in dependency order, wires them with
// plain references and runs them: N worker threads (gateway connections, Runtime API endpoints) and
// the one control loop thread (admin API, deploys, reaping and supervising instances; later alarms
// and deployment steps). It is the only code that knows every module.
#pragma once

#include "cli/cli.h"

namespace cutover::daemon {

// Runs until SIGINT/SIGTERM; returns the process exit code.
int Serve(const cli::ServeOptions& options);

}  // namespace cutover::daemon
