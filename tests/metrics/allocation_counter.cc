#include "allocation_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

// Replacing the global operator new is allowed by the standard; the other forms forward to these.
// ThreadSanitizer's runtime defines operator new itself (not weakly, unlike AddressSanitizer's),
// so under it nothing is counted and the tests that count skip.
#if defined(__SANITIZE_THREAD__)
#define CUTOVER_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CUTOVER_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef CUTOVER_COUNT_ALLOCATIONS
#define CUTOVER_COUNT_ALLOCATIONS 1
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

#if CUTOVER_COUNT_ALLOCATIONS
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// noinline keeps GCC from pairing the inlined free() with `new` and warning
// (-Wmismatched-new-delete).
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace cutover::testing {

uint64_t Allocations() { return g_allocations.load(std::memory_order_relaxed); }
bool AllocationsCounted() { return CUTOVER_COUNT_ALLOCATIONS != 0; }

}  // namespace cutover::testing
