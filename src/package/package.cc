// CreatePackage: service directory -> deterministic .tar.gz.
//
// Three steps: walk the tree (deciding about symlinks), select files with the patterns, write the
// archive in sorted order with every variable field (times, owners, mode bits other than exec, gzip
// header time) pinned, so the bytes depend only on paths, contents and executable bits.
#include "package/package.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/sha256.h"

namespace cutover::package {
namespace {

namespace fs = std::filesystem;

// Never packaged and never walked: VCS data, cutover's own data directory, serverless' output.
constexpr std::array<std::string_view, 3> kAlwaysExcluded = {".git", ".cutover", ".serverless"};

// Serverless' default excludes (its packaging guide), applied before the user's patterns so a
// pattern can re-include them. The config file is excluded as serverless does; the daemon gets it
// as JSON.
constexpr std::array<std::string_view, 7> kDefaultExcludes = {
    ".gitignore",     ".DS_Store",      "npm-debug.log", "yarn-*.log", ".serverless_plugins/**",
    "serverless.yml", "serverless.yaml"};

bool IsAlwaysExcluded(std::string_view name) {
  return std::find(kAlwaysExcluded.begin(), kAlwaysExcluded.end(), name) != kAlwaysExcluded.end();
}

struct Rule {
  std::string glob;
  bool include;
};

std::vector<Rule> BuildRules(const std::vector<std::string>& patterns) {
  std::vector<Rule> rules;
  for (std::string_view glob : kDefaultExcludes) rules.push_back({std::string(glob), false});
  for (std::string_view p : patterns) {
    bool include = true;
    if (p.starts_with('!')) {
      include = false;
      p.remove_prefix(1);
    }
    while (p.starts_with('/')) p.remove_prefix(1);  // paths are relative to the service directory
    if (p.empty()) continue;
    rules.push_back({std::string(p), include});
  }
  return rules;
}

// Serverless' rule: every file starts selected, and each matching pattern, in order, sets its
// state.
bool Selected(const std::vector<Rule>& rules, std::string_view rel) {
  bool selected = true;
  for (const Rule& rule : rules) {
    if (GlobMatch(rule.glob, rel)) selected = rule.include;
  }
  return selected;
}

struct Candidate {
  std::string rel;  // the path in the archive
  fs::path source;  // where to read it; its last component is not a symlink
};

// Directory entries the walk may visit at most, selected or not: a bound on the work a tree of
// directory symlinks (each followed once per path that reaches it) can cause.
constexpr size_t kMaxVisitedEntries = 20 * kMaxPackageEntries;

// Walks the service directory and keeps what the rules select. Symlinks are resolved here: one
// whose canonical target is inside the root (and not inside an always-excluded directory) stands
// for its target; any other is left out and, when selected, reported as skipped.
class Walker {
 public:
  Walker(fs::path root, const std::vector<Rule>& rules) : root_(std::move(root)), rules_(rules) {}

  Status Walk() {
    std::vector<fs::path> ancestors{root_};
    return WalkDir(root_, "", ancestors);
  }

  std::vector<Candidate>& files() { return files_; }
  std::vector<std::string>& skipped() { return skipped_; }

 private:
  // True when `target` (canonical) lies under the root and outside the always-excluded directories.
  bool Inside(const fs::path& target) const {
    auto [r, t] = std::mismatch(root_.begin(), root_.end(), target.begin(), target.end());
    if (r != root_.end()) return false;
    for (; t != target.end(); ++t) {
      if (IsAlwaysExcluded(t->native())) return false;
    }
    return true;
  }

  void Skip(const std::string& rel) {
    if (Selected(rules_, rel)) skipped_.push_back(rel);
  }

  // `ancestors` holds the canonical directories being walked, to refuse a symlink back into one of
  // them (which would recurse forever).
  Status WalkDir(const fs::path& dir, const std::string& prefix, std::vector<fs::path>& ancestors) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) return Internal(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) return Internal(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
      const fs::path& path = it->path();
      const std::string name = path.filename().string();
      if (IsAlwaysExcluded(name)) continue;
      const std::string rel = prefix.empty() ? name : prefix + "/" + name;
      if (++visited_ > kMaxVisitedEntries) {
        return TooLarge(
            fmt::format("{} has more than {} entries (counting those reached through "
                        "symlinks)",
                        root_.string(), kMaxVisitedEntries));
      }

      const fs::file_status status = it->symlink_status(ec);
      if (ec) return Internal(fmt::format("cannot stat {}: {}", path.string(), ec.message()));
      fs::path real = path;
      fs::file_type type = status.type();
      if (type == fs::file_type::symlink) {
        real = fs::canonical(path, ec);
        if (ec || !Inside(real)) {
          Skip(rel);  // dangling, looping, or leaving the service directory
          continue;
        }
        type = fs::status(real, ec).type();
        if (ec) {
          Skip(rel);
          continue;
        }
      }

      if (type == fs::file_type::regular) {
        if (!Selected(rules_, rel)) continue;
        if (files_.size() >= kMaxPackageEntries) {
          return TooLarge(
              fmt::format("the package would have more than {} files", kMaxPackageEntries));
        }
        files_.push_back({rel, real});
      } else if (type == fs::file_type::directory) {
        if (std::find(ancestors.begin(), ancestors.end(), real) != ancestors.end()) {
          Skip(rel);  // a link back into a directory we are inside
          continue;
        }
        ancestors.push_back(real);
        CUTOVER_RETURN_IF_ERROR(WalkDir(real, rel, ancestors));
        ancestors.pop_back();
      } else {
        Skip(rel);  // socket, FIFO, device
      }
    }
    return Status::Ok();
  }

  const fs::path root_;
  const std::vector<Rule>& rules_;
  size_t visited_ = 0;
  std::vector<Candidate> files_;      // selected regular files (or links to them)
  std::vector<std::string> skipped_;  // selected entries left out
};

// Reads a whole regular file without following a symlink in its last component (the walk resolved
// those already; one appearing now means the tree changed under us).
Status ReadRegularFile(const fs::path& path, uint64_t budget, std::string& content,
                       bool& executable) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return Internal(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Internal(fmt::format("cannot stat {}: {}", path.string(), std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Internal(fmt::format("{} is no longer a regular file", path.string()));
  }
  if (static_cast<uint64_t>(st.st_size) > budget) {
    return TooLarge(fmt::format("the package would be larger than {} bytes uncompressed ({})",
                                kMaxPackageBytes, path.string()));
  }
  executable = (st.st_mode & 0111) != 0;
  content.clear();
  content.reserve(static_cast<size_t>(st.st_size));
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > budget) {
      return TooLarge(fmt::format("the package would be larger than {} bytes uncompressed ({})",
                                  kMaxPackageBytes, path.string()));
    }
  }
  return Status::Ok();
}

struct ArchiveWriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct ArchiveEntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t AppendToString(struct archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

Status ArchiveError(struct archive* a, std::string_view what) {
  const char* message = archive_error_string(a);
  return Internal(fmt::format("writing the package: {}: {}", what,
                              message != nullptr ? message : "unknown libarchive error"));
}

// Writes one entry with every field that could vary between machines or runs pinned.
Status WriteEntry(struct archive* a, const std::string& rel, bool directory, bool executable,
                  std::string_view content) {
  std::unique_ptr<struct archive_entry, ArchiveEntryFree> entry(archive_entry_new());
  // The name's bytes as they are on disk; with hdrcharset=BINARY (below) libarchive never converts
  // them, so the archive does not depend on the process locale.
  archive_entry_set_pathname(entry.get(), rel.c_str());
  archive_entry_set_filetype(entry.get(), directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(entry.get(), directory || executable ? 0755 : 0644);
  archive_entry_set_size(entry.get(), directory ? 0 : static_cast<la_int64_t>(content.size()));
  archive_entry_set_mtime(entry.get(), 0, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  // uname/gname stay unset (empty); atime, ctime and birthtime stay unset (not written).
  if (archive_write_header(a, entry.get()) < ARCHIVE_WARN) return ArchiveError(a, rel);
  if (!content.empty()) {
    const la_ssize_t n = archive_write_data(a, content.data(), content.size());
    if (n < 0 || static_cast<size_t>(n) != content.size()) return ArchiveError(a, rel);
  }
  if (archive_write_finish_entry(a) < ARCHIVE_WARN) return ArchiveError(a, rel);
  return Status::Ok();
}

}  // namespace

Result<PackageInfo> CreatePackage(const std::filesystem::path& service_dir,
                                  const std::vector<std::string>& patterns) {
  std::error_code ec;
  const fs::path root = fs::canonical(service_dir, ec);
  if (ec) {
    return NotFound(fmt::format("service directory {}: {}", service_dir.string(), ec.message()));
  }
  if (!fs::is_directory(root, ec)) {
    return InvalidArgument(fmt::format("{} is not a directory", service_dir.string()));
  }

  const std::vector<Rule> rules = BuildRules(patterns);
  Walker walker(root, rules);
  CUTOVER_RETURN_IF_ERROR(walker.Walk());

  PackageInfo info;
  info.skipped = std::move(walker.skipped());
  std::sort(info.skipped.begin(), info.skipped.end());

  // The selected files, and the directories that contain them; sorted, a directory comes before
  // everything inside it (its path is a prefix of theirs).
  const std::vector<Candidate>& files = walker.files();
  std::set<std::string> dirs;
  for (const Candidate& c : files) {
    for (size_t slash = c.rel.find('/'); slash != std::string::npos;
         slash = c.rel.find('/', slash + 1)) {
      dirs.insert(c.rel.substr(0, slash));
    }
  }
  if (files.size() + dirs.size() > kMaxPackageEntries) {
    return TooLarge(fmt::format("the package would have {} entries; the limit is {}",
                                files.size() + dirs.size(), kMaxPackageEntries));
  }
  struct Item {
    std::string_view rel;
    const Candidate* file;  // null for a directory
  };
  std::vector<Item> items;
  items.reserve(files.size() + dirs.size());
  for (const std::string& d : dirs) items.push_back({d, nullptr});
  for (const Candidate& c : files) items.push_back({c.rel, &c});
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.rel < b.rel; });

  std::unique_ptr<struct archive, ArchiveWriteFree> a(archive_write_new());
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      // No timestamp in the gzip header (the name is never stored when writing to memory).
      archive_write_set_options(a.get(), "gzip:!timestamp,gzip:compression-level=6") !=
          ARCHIVE_OK ||
      // File names are written as raw bytes, without a locale-dependent conversion to UTF-8.
      archive_write_set_options(a.get(), "pax:hdrcharset=BINARY") != ARCHIVE_OK ||
      // No zero padding after the gzip stream.
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open2(a.get(), &info.bytes, nullptr, AppendToString, nullptr, nullptr) !=
          ARCHIVE_OK) {
    return ArchiveError(a.get(), "setting up the writer");
  }

  std::string content;
  for (const Item& item : items) {
    if (item.file == nullptr) {
      CUTOVER_RETURN_IF_ERROR(WriteEntry(a.get(), std::string(item.rel), true, false, {}));
      continue;
    }
    bool executable = false;
    CUTOVER_RETURN_IF_ERROR(ReadRegularFile(
        item.file->source, kMaxPackageBytes - info.uncompressed_bytes, content, executable));
    CUTOVER_RETURN_IF_ERROR(WriteEntry(a.get(), item.file->rel, false, executable, content));
    info.uncompressed_bytes += content.size();
    ++info.file_count;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "finishing");
  info.sha256 = Sha256Hex(info.bytes);
  return info;
}

}  // namespace cutover::package
