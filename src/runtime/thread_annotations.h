// Clang thread-safety annotations for the runtime module. They document which mutex guards which
// field; under clang with -Wthread-safety they are also checked. g++ ignores them.
#pragma once

#if defined(__clang__)
#define CUTOVER_GUARDED_BY(x) __attribute__((guarded_by(x)))
#define CUTOVER_REQUIRES(...) __attribute__((requires_capability(__VA_ARGS__)))
#define CUTOVER_EXCLUDES(...) __attribute__((locks_excluded(__VA_ARGS__)))
#else
#define CUTOVER_GUARDED_BY(x)
#define CUTOVER_REQUIRES(...)
#define CUTOVER_EXCLUDES(...)
#endif
