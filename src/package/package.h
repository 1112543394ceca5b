// Service packages: the deterministic archive `cutover deploy` uploads and the daemon unpacks.
//
// CreatePackage walks a service directory, keeps the files that package.patterns select
// (serverless' rules: everything by default, "!glob" excludes, a later pattern overrides an earlier
// one), never follows a symlink that leaves the directory, and writes a gzip'd tar with sorted
// entries, zero mtimes and owners, and only the executable bit of the mode kept — so the same tree
// always gives the same bytes and the same SHA-256. ExtractPackage unpacks into a fresh directory
// and refuses absolute paths, "..", links and anything but regular files and directories.
//
// Thread-safety: free functions without shared state, callable from any thread. Both block on file
// I/O, so the daemon keeps ExtractPackage off the request path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::package {

// Both sides refuse packages past these limits (TooLarge). Entries counts files and directories,
// bytes the sum of the files' sizes.
inline constexpr size_t kMaxPackageEntries = 100'000;
inline constexpr uint64_t kMaxPackageBytes = uint64_t{1} << 30;  // 1 GiB

struct PackageInfo {
  std::string bytes;   // the .tar.gz
  std::string sha256;  // of bytes
  size_t file_count = 0;
  size_t uncompressed_bytes = 0;
  // Paths (relative, '/'-separated, sorted) that the patterns selected but that were left out:
  // symlinks whose target is outside the service directory, dangling, or loops back into an
  // ancestor; sockets, FIFOs and devices. The CLI shows them: a missing file is never a silent
  // surprise.
  std::vector<std::string> skipped;
};

// `patterns` as in serverless.yml package.patterns. Every file starts included; then serverless'
// default excludes apply (.gitignore, .DS_Store, npm-debug.log, yarn-*.log, .serverless_plugins/**,
// and the root serverless.yml / serverless.yaml, which the daemon receives as JSON instead), then
// `patterns` in order, each setting the state of the files it matches ("!glob" excludes, "glob"
// re-includes). A pattern ending in '/' means everything under that directory. Anything named
// .cutover, .serverless or .git, at any depth, is always excluded (and never walked). A symlink
// whose target resolves inside the service directory is archived as a copy of its target (a regular
// file, or the directory's contents); any other is left out and listed in `skipped`.
// NotFound when `service_dir` does not exist; TooLarge past the limits above.
Result<PackageInfo> CreatePackage(const std::filesystem::path& service_dir,
                                  const std::vector<std::string>& patterns);

// Extracts `archive` into `dest` (which must not exist; created). On failure nothing is left at
// `dest`. Limits: at most 100,000 entries and 1 GiB uncompressed. The archive is unpacked into a
// temporary sibling of `dest` that is renamed into place at the end. Only regular files (0755 when
// any executable bit is set, else 0644) and directories (0755) are written, at relative paths.
// AlreadyExists when `dest` exists; InvalidArgument for a corrupt archive or a refused entry
// (absolute path, "..", symlink, hard link, device, duplicate); TooLarge past the limits.
Status ExtractPackage(const std::string& archive, const std::filesystem::path& dest);

// serverless/globby-style matching of a relative path against one glob; dot files match like any
// other file. "*" and "?" never cross '/'; "**" as a whole segment matches zero or more segments
// ("a/**" also matches "a"); "[a-z]" and "[!abc]" are classes; "{a,b}" are alternatives; a
// backslash escapes the next character. A leading "./" is ignored and a trailing "/" means "/**".
// A leading '!' is not special here: negation belongs to the pattern list (CreatePackage).
bool GlobMatch(std::string_view pattern, std::string_view path);

}  // namespace cutover::package
