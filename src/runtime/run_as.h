// The user function processes run as (`cutover serve --run-as USER`): looking it up, and checking
// that it can reach the files its processes need.
//
// Thread-safety: stateless; LookUpUser and CanRead read the user database (getpwnam_r,
// getgrouplist) and the file system.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/process_launcher.h"

namespace cutover::runtime {

struct UserAccount {
  std::string name;
  RunAs ids;  // the user's uid, primary gid, and every group it is in (the primary one included)
};

// NotFound when there is no such user.
Result<UserAccount> LookUpUser(std::string_view name);

// Whether `user` may read `path` (and search it, for a directory) and search every directory above
// it (AccessibleBy).
bool CanRead(const UserAccount& user, const std::filesystem::path& path);

}  // namespace cutover::runtime
