// EtcdClient: the part of etcd v3's KV API the etcd store needs (Range and Txn), spoken through
// etcd's JSON gateway (`POST /v3/kv/range`, `/v3/kv/txn`) over the synchronous HttpClient, so
// that no gRPC stack is needed. Keys and values are bytes; the gateway carries them base64,
// which happens here.
//
// Several endpoints may be given (the members of one cluster): a request goes to the endpoint
// that answered last and moves on to the next only when a connection cannot be made, so a
// request that reached a member is never sent twice.
//
// Errors: Unavailable when no endpoint can be reached or etcd says it is unavailable (no leader,
// for instance), with etcd's message; Internal when an answer is not what the gateway sends.
//
// Thread-safety: Range and Txn may be called from several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_client.h"
#include "common/status.h"

namespace cutover::store {

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;  // the lease the key is attached to, 0 for none
};

struct EtcdRangeResult {
  int64_t revision = 0;           // the store's revision the range was read at
  std::vector<EtcdKeyValue> kvs;  // ascending by key
};

// A compare of a Txn: the key's mod_revision equals `mod_revision` (0 = the key does not exist).
struct EtcdCompareModRevision {
  std::string key;
  int64_t mod_revision = 0;
};

// An operation of a Txn: a put, or a delete when `value` is empty. A put with a lease is deleted
// by etcd when the lease ends.
struct EtcdWrite {
  std::string key;
  std::optional<std::string> value;
  int64_t lease = 0;
};

struct EtcdTxnResult {
  bool succeeded = false;  // every compare held and the writes were applied
  int64_t revision = 0;    // the store's revision after the transaction
};

class EtcdClient {
 public:
  // `endpoints`: "HOST:PORT[,HOST:PORT...]". InvalidArgument when one does not parse.
  static Result<std::unique_ptr<EtcdClient>> Create(std::string_view endpoints,
                                                    HttpClientOptions options = {});

  // The keys in [key, range_end) (just `key` when range_end is empty), at `revision` (0 = the
  // newest). Unavailable, naming the revision, when it has been compacted away.
  Result<EtcdRangeResult> Range(std::string_view key, std::string_view range_end,
                                int64_t revision = 0) const;

  // Applies `writes` in one transaction if every compare holds; nothing otherwise.
  Result<EtcdTxnResult> Txn(const std::vector<EtcdCompareModRevision>& compares,
                            const std::vector<EtcdWrite>& writes) const;

  // Leases (etcd's LeaseGrant, LeaseKeepAlive, LeaseRevoke). Grant returns the lease's id;
  // KeepAlive the TTL left after renewing it, 0 when the lease has expired or was revoked.
  Result<int64_t> LeaseGrant(int64_t ttl_seconds) const;
  Result<int64_t> LeaseKeepAlive(int64_t lease) const;
  Status LeaseRevoke(int64_t lease) const;

  // The end of the range of every key that starts with `prefix` (etcd's "prefix end").
  static std::string PrefixEnd(std::string_view prefix);

  // "127.0.0.1:2379,127.0.0.1:22379"
  std::string Describe() const;

 private:
  explicit EtcdClient(std::vector<HttpClient> members) : members_(std::move(members)) {}

  // POSTs `body` to `path` and returns the parsed answer of a 200.
  Result<std::string> Post(std::string_view path, const std::string& body) const;

  std::vector<HttpClient> members_;
  mutable std::atomic<size_t> current_{0};  // the member that answered last
};

}  // namespace cutover::store
