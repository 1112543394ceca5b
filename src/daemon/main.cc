// The `cutover` binary: `serve` runs the daemon, every other subcommand is a client of its admin
// API.
#include "cli/cli.h"
#include "daemon/serve.h"

int main(int argc, char** argv) { return cutover::cli::RunCli(argc, argv, cutover::daemon::Serve); }
