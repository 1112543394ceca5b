// Helpers for the package tests: temporary directories, file trees, and reading archives back.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace cutover::package::testing {

namespace fs = std::filesystem;

// A fresh directory, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cutover-package-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void WriteFile(const fs::path& path, const std::string& content,
                      fs::perms mode = fs::perms(0644)) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
  fs::permissions(path, mode);
}

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Regular files under `root` (relative path -> content), not following symlinks.
inline std::map<std::string, std::string> ListFiles(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && !e.is_symlink()) {
      out[fs::relative(e.path(), root).generic_string()] = ReadFile(e.path());
    }
  }
  return out;
}

// Permission bits of a path (not following a symlink).
inline unsigned Mode(const fs::path& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// What an archive holds, header by header.
struct EntryView {
  std::string path;
  unsigned type = 0;  // AE_IFREG, AE_IFDIR ...
  unsigned perm = 0;
  int64_t mtime = -1;
  int64_t uid = -1;
  int64_t gid = -1;
  std::string uname;
  std::string gname;
  std::string content;
};

inline std::vector<EntryView> ReadEntries(const std::string& bytes) {
  std::vector<EntryView> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    archive_read_free(a);
    return out;
  }
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    EntryView v;
    v.path = archive_entry_pathname(e);
    v.type = archive_entry_filetype(e);
    v.perm = archive_entry_perm(e);
    v.mtime = archive_entry_mtime(e);
    v.uid = archive_entry_uid(e);
    v.gid = archive_entry_gid(e);
    if (archive_entry_uname(e) != nullptr) v.uname = archive_entry_uname(e);
    if (archive_entry_gname(e) != nullptr) v.gname = archive_entry_gname(e);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) v.content.append(buf, n);
    out.push_back(std::move(v));
  }
  archive_read_free(a);
  return out;
}

// Paths of the regular files in an archive, in archive order.
inline std::vector<std::string> FilePaths(const std::string& bytes) {
  std::vector<std::string> out;
  for (const auto& e : ReadEntries(bytes)) {
    if (e.type == AE_IFREG) out.push_back(e.path);
  }
  return out;
}

}  // namespace cutover::package::testing
