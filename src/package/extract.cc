// ExtractPackage: .tar.gz -> a fresh directory, accepting only what CreatePackage writes.
//
// libarchive only parses; every file and directory is created here, by our own loop, inside a
// private temporary directory (mode 0700 until it is complete). The whole archive is checked before
// anything is created; no symlink is ever created, and files are opened with O_EXCL | O_NOFOLLOW,
// so an entry can neither escape the directory nor write through something an earlier entry made.
// The temporary directory is renamed to `dest` only when everything succeeded, and removed
// otherwise.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "package/package.h"

namespace cutover::package {
namespace {

namespace fs = std::filesystem;

struct ArchiveReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

std::string Errno(int err) { return std::strerror(err); }

// "a/./b//c/" -> "a/b/c". InvalidArgument for an absolute path or a ".." component. May return ""
// (the archive's "./" root entry).
Result<std::string> NormalizeEntryPath(std::string_view raw) {
  if (raw.starts_with('/')) {
    return InvalidArgument(fmt::format("refusing absolute path '{}' in the package", raw));
  }
  std::string out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t slash = raw.find('/', start);
    if (slash == std::string_view::npos) slash = raw.size();
    const std::string_view part = raw.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return InvalidArgument(
          fmt::format("refusing path '{}' in the package: it contains '..'", raw));
    }
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

// Reads the archive twice: a checking pass that creates nothing (paths, types, duplicates, limits),
// then a writing pass. A hostile archive is thus refused before a single file exists, however far
// into it the problem is, and the writing pass only ever sees entries already accepted.
class Extractor {
 public:
  explicit Extractor(fs::path root) : root_(std::move(root)) {}

  Status Run(const std::string& archive) {
    CUTOVER_RETURN_IF_ERROR(Pass(archive, /*write=*/false));
    return Pass(archive, /*write=*/true);
  }

 private:
  enum class Kind { kFile, kDir };

  Status Pass(const std::string& archive, bool write) {
    write_ = write;
    total_bytes_ = 0;
    std::unique_ptr<struct archive, ArchiveReadFree> a(archive_read_new());
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_gzip(a.get());
    if (archive_read_open_memory(a.get(), archive.data(), archive.size()) != ARCHIVE_OK) {
      return Corrupt(a.get());
    }
    size_t entries = 0;
    while (true) {
      struct archive_entry* entry = nullptr;
      const int rc = archive_read_next_header(a.get(), &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) return Corrupt(a.get());
      if (++entries > kMaxPackageEntries) {
        return TooLarge(fmt::format("the package has more than {} entries", kMaxPackageEntries));
      }
      CUTOVER_RETURN_IF_ERROR(Entry(a.get(), entry));
    }
    return Status::Ok();
  }

  static Status Corrupt(struct archive* a) {
    const char* message = archive_error_string(a);
    return InvalidArgument(
        fmt::format("corrupt package: {}", message != nullptr ? message : "unreadable archive"));
  }

  Status Entry(struct archive* a, struct archive_entry* entry) {
    // The UTF-8 name when libarchive has one (pax headers), else the raw bytes of the tar header.
    const char* name = archive_entry_pathname_utf8(entry);
    if (name == nullptr) name = archive_entry_pathname(entry);
    if (name == nullptr) return InvalidArgument("refusing a package entry without a usable name");
    CUTOVER_ASSIGN_OR_RETURN(std::string rel, NormalizeEntryPath(name));

    if (archive_entry_hardlink(entry) != nullptr) {
      return InvalidArgument(fmt::format("refusing hard link '{}' in the package", name));
    }
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      if (rel.empty()) return Status::Ok();  // "./"
      CUTOVER_RETURN_IF_ERROR(Claim(rel, Kind::kDir));
      return write_ ? MakeDirs(rel) : Status::Ok();
    }
    if (type != AE_IFREG) {
      const char* kind = type == AE_IFLNK ? "symlink" : "special file";
      return InvalidArgument(fmt::format("refusing {} '{}' in the package", kind, name));
    }
    if (rel.empty()) return InvalidArgument(fmt::format("refusing file entry '{}'", name));
    CUTOVER_RETURN_IF_ERROR(Claim(rel, Kind::kFile));

    const la_int64_t declared = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
    if (declared < 0 || static_cast<uint64_t>(declared) > kMaxPackageBytes - total_bytes_) {
      return TooLarge(fmt::format("the package is larger than {} bytes uncompressed ({})",
                                  kMaxPackageBytes, rel));
    }
    if (!write_) {
      total_bytes_ += static_cast<uint64_t>(declared);
      return Status::Ok();  // the next header read skips the data
    }
    return WriteFile(a, rel, (archive_entry_perm(entry) & 0111) != 0);
  }

  // Records that the checking pass saw `rel` as `kind`, refusing duplicates and a path that is both
  // a file and a directory. Parents are implied directories. No-op in the writing pass.
  Status Claim(const std::string& rel, Kind kind) {
    if (write_) return Status::Ok();
    for (size_t slash = rel.find('/'); slash != std::string::npos;
         slash = rel.find('/', slash + 1)) {
      auto [it, inserted] = kinds_.try_emplace(rel.substr(0, slash), Kind::kDir);
      if (it->second == Kind::kFile) {
        return InvalidArgument(
            fmt::format("refusing entry '{}': '{}' is a file in the package", rel, it->first));
      }
    }
    auto [it, inserted] = kinds_.try_emplace(rel, kind);
    if (!inserted && (kind == Kind::kFile || it->second == Kind::kFile)) {
      return InvalidArgument(fmt::format("refusing duplicate entry '{}' in the package", rel));
    }
    return Status::Ok();
  }

  Status WriteFile(struct archive* a, const std::string& rel, bool executable) {
    const size_t slash = rel.rfind('/');
    if (slash != std::string::npos) CUTOVER_RETURN_IF_ERROR(MakeDirs(rel.substr(0, slash)));
    const fs::path path = root_ / rel;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return Internal(fmt::format("cannot create {}: {}", path.string(), Errno(errno)));
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    // An explicit mode, so the process umask does not decide what the function can execute.
    if (::fchmod(fd, executable ? 0755 : 0644) != 0) {
      return Internal(fmt::format("cannot chmod {}: {}", path.string(), Errno(errno)));
    }
    char buffer[64 * 1024];
    while (true) {
      const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
      if (n < 0) return Corrupt(a);
      if (n == 0) break;
      total_bytes_ += static_cast<uint64_t>(n);
      if (total_bytes_ > kMaxPackageBytes) {
        return TooLarge(
            fmt::format("the package is larger than {} bytes uncompressed", kMaxPackageBytes));
      }
      for (la_ssize_t done = 0; done < n;) {
        const ssize_t w = ::write(fd, buffer + done, static_cast<size_t>(n - done));
        if (w < 0) {
          if (errno == EINTR) continue;
          return Internal(fmt::format("cannot write {}: {}", path.string(), Errno(errno)));
        }
        done += w;
      }
    }
    return Status::Ok();
  }

  // Creates `rel` and its parents (0755) unless this pass made them already.
  Status MakeDirs(const std::string& rel) {
    for (size_t end = 0; end != std::string::npos;) {
      end = rel.find('/', end + 1);
      const std::string part = rel.substr(0, end);
      if (made_dirs_.contains(part)) continue;
      const fs::path path = root_ / part;
      // mkdir never follows a symlink in its last component, and nothing under root_ is one.
      if (::mkdir(path.c_str(), 0755) != 0) {
        return Internal(fmt::format("cannot create {}: {}", path.string(), Errno(errno)));
      }
      if (::chmod(path.c_str(), 0755) != 0) {  // despite the umask
        return Internal(fmt::format("cannot chmod {}: {}", path.string(), Errno(errno)));
      }
      made_dirs_.insert(part);
    }
    return Status::Ok();
  }

  const fs::path root_;
  bool write_ = false;
  uint64_t total_bytes_ = 0;
  std::map<std::string, Kind> kinds_;  // checking pass: every path seen, and what it is
  std::set<std::string> made_dirs_;    // writing pass: directories created
};

}  // namespace

Status ExtractPackage(const std::string& archive, const std::filesystem::path& dest) {
  std::error_code ec;
  if (dest.filename().empty()) {
    return InvalidArgument(fmt::format("extract destination '{}' has no name", dest.string()));
  }
  if (fs::symlink_status(dest, ec).type() != fs::file_type::not_found) {
    return AlreadyExists(fmt::format("{} already exists", dest.string()));
  }
  const fs::path parent = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) return Internal(fmt::format("cannot create {}: {}", parent.string(), ec.message()));

  std::string tmpl = (parent / ("." + dest.filename().string() + ".tmp-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Internal(
        fmt::format("cannot create a directory next to {}: {}", dest.string(), Errno(errno)));
  }
  const fs::path tmp = tmpl;
  auto discard = [&](Status st) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return st;
  };

  Status st = Extractor(tmp).Run(archive);
  if (!st.ok()) return discard(st);
  if (::chmod(tmp.c_str(), 0755) != 0) {
    return discard(Internal(fmt::format("cannot chmod {}: {}", tmp.string(), Errno(errno))));
  }
  // RENAME_NOREPLACE: a destination that appeared meanwhile is not replaced (plain rename would
  // replace an empty directory).
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    if (err == EEXIST)
      return discard(AlreadyExists(fmt::format("{} already exists", dest.string())));
    return discard(Internal(
        fmt::format("cannot rename {} to {}: {}", tmp.string(), dest.string(), Errno(err))));
  }
  return Status::Ok();
}

}  // namespace cutover::package
