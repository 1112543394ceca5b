// CPU affinity for the gateway's worker threads.
//
// Each invocation crosses the daemon and a function process several times (the event, the
// response, its 202 and the next GET /next), and every crossing wakes the other side. When the
// woken side sleeps on the other core, the wake-up is an inter-processor interrupt, which on a
// virtual machine is a trip through the hypervisor. A worker pinned to one core keeps its
// connections, its instances' Runtime API endpoints and (through the kernel's wake-affine rule)
// the instances themselves together on that core. Function processes are not pinned: a busy one
// can still move to an idle core. docs/PERFORMANCE.md has the measurements.
#pragma once

#include <vector>

#include "common/status.h"

namespace cutover {

// The CPUs this process may run on (sched_getaffinity), ascending; empty when the kernel will not
// say.
std::vector<int> AllowedCpus();

// The CPU for each of `workers` threads: the allowed CPUs in turn. Empty, meaning "pin nothing",
// when fewer than two CPUs are allowed (pinning to the only core gains nothing) or workers < 1.
std::vector<int> WorkerCpus(int workers, const std::vector<int>& allowed);

// Pins the calling thread to `cpu`.
Status PinThisThread(int cpu);

}  // namespace cutover
