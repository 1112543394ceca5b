#include "runtime/run_as.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace cutover::runtime {

Result<UserAccount> LookUpUser(std::string_view name) {
  std::string n(name);
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = ::getpwnam_r(n.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) return NotFound(fmt::format("no user named '{}'", n));
  UserAccount user;
  user.name = n;
  user.ids.uid = pw.pw_uid;
  user.ids.gid = pw.pw_gid;
  std::vector<gid_t>& groups = user.ids.groups;
  int count = 64;
  groups.resize(static_cast<size_t>(count));
  while (::getgrouplist(n.c_str(), pw.pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count) + 64);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<size_t>(count));
  return user;
}

bool CanRead(const UserAccount& user, const std::filesystem::path& path) {
  std::error_code ec;
  const bool dir = std::filesystem::is_directory(path, ec);
  return AccessibleBy(user.ids, path, dir ? (R_OK | X_OK) : R_OK);
}

}  // namespace cutover::runtime
