// Heap allocations made by this test binary so far (allocation_counter.cc replaces the global
// operator new), so a test can assert that a steady-state path allocates nothing.
#pragma once

#include <cstdint>

namespace cutover::testing {

uint64_t Allocations();
// False under ThreadSanitizer, whose runtime owns operator new: tests that count should skip.
bool AllocationsCounted();

}  // namespace cutover::testing
