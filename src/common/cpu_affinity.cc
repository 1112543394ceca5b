#include "common/cpu_affinity.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <cstring>

namespace cutover {

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

std::vector<int> WorkerCpus(int workers, const std::vector<int>& allowed) {
  std::vector<int> cpus;
  if (workers < 1 || allowed.size() < 2) return cpus;
  for (int i = 0; i < workers; ++i)
    cpus.push_back(allowed[static_cast<size_t>(i) % allowed.size()]);
  return cpus;
}

Status PinThisThread(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return InvalidArgument(fmt::format("no CPU {}", cpu));
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set); err != 0) {
    return Internal(fmt::format("cannot pin a thread to CPU {}: {}", cpu, std::strerror(err)));
  }
  return Status::Ok();
}

}  // namespace cutover
