// The function-response mapping of payload formats 1.0 and 2.0 (MapResponseV1/V2) and the check
// that a mapped response can go on the wire (CheckSendable).
//
// The input is the function's raw result, as the runtime hands it to the gateway. Both formats see
// every input. Invariants: a mapped response has a status the gateway can send or that
// CheckSendable refuses, and mapping is deterministic.
#include <string>

#include "fuzz_util.h"
#include "gateway/proxy_event.h"

namespace cutover::fuzz {
namespace {

void CheckMapped(const Result<gateway::ProxyResponse>& first,
                 const Result<gateway::ProxyResponse>& second) {
  CUTOVER_FUZZ_CHECK(first.ok() == second.ok(), first.status().ToString());
  if (!first.ok()) {
    CUTOVER_FUZZ_CHECK(first.status().message() == second.status().message(),
                       first.status().message());
    return;
  }
  CUTOVER_FUZZ_CHECK(first->status == second->status && first->headers == second->headers &&
                         first->body == second->body,
                     "");
  Status sendable = gateway::CheckSendable(*first);
  if (sendable.ok()) {
    CUTOVER_FUZZ_CHECK(first->status >= 200 && first->status <= 599, std::to_string(first->status));
    for (const auto& [name, value] : first->headers) {
      CUTOVER_FUZZ_CHECK(!name.empty(), value);
      CUTOVER_FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
                         name);
    }
  }
}

}  // namespace
}  // namespace cutover::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cutover;
  const std::string_view payload = fuzz::AsView(data, size);
  fuzz::CheckMapped(gateway::MapResponseV1(payload), gateway::MapResponseV1(payload));
  fuzz::CheckMapped(gateway::MapResponseV2(payload), gateway::MapResponseV2(payload));
  return 0;
}
