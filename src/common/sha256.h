// SHA-256 in lowercase hex, for content-addressed artifacts and configuration hashes.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cutover {

std::string Sha256Hex(std::string_view data);
Result<std::string> Sha256HexOfFile(const std::filesystem::path& path);

// Incremental form for streaming large inputs.
class Sha256 final {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string HexDigest();  // finishes; call once

 private:
  void* ctx_;
};

}  // namespace cutover
