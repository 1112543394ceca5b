// EtcdWatcher: follows every change under a key prefix with etcd v3's watch (the JSON gateway's
// streaming `POST /v3/watch`), on a thread of its own, and says when something changed.
//
// It reports revisions, not the changes themselves: the caller re-reads what it needs from the
// store, at or after the revision given, so a missed or coalesced event can never leave it with a
// state the store does not hold. After a broken connection it reconnects (backing off to 1 s) and
// resumes from the revision after the last one it reported, so nothing committed in between is
// missed; if etcd compacted that revision away, it reports the current revision, which the caller
// treats like any change (read everything again).
//
// Thread-safety: the callbacks run on the watcher's thread, one at a time; they must not block for
// long (post the work elsewhere). connected() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/http_client.h"

namespace cutover::store {

struct EtcdWatchCallbacks {
  // Something under the prefix changed; `revision` is the store's revision after it.
  std::function<void(int64_t revision)> on_change;
  // The watch was established (true) or lost (false), with the reason; for status and logs.
  std::function<void(bool connected, const std::string& why)> on_connection;
};

class EtcdWatcher {
 public:
  // Starts watching [prefix, prefix end) on the first reachable endpoint of `endpoints`
  // ("HOST:PORT[,...]", as EtcdClient::Create takes it), for changes after `after_revision`
  // (0 = from now on).
  static Result<std::unique_ptr<EtcdWatcher>> Start(std::string_view endpoints, std::string prefix,
                                                    int64_t after_revision,
                                                    EtcdWatchCallbacks callbacks);
  ~EtcdWatcher();  // stops the thread
  EtcdWatcher(const EtcdWatcher&) = delete;
  EtcdWatcher& operator=(const EtcdWatcher&) = delete;

  bool connected() const { return connected_.load(); }

 private:
  EtcdWatcher(std::vector<Endpoint> endpoints, std::string prefix, int64_t after_revision,
              EtcdWatchCallbacks callbacks);
  void Run();
  // One connection: returns when it breaks or Stop was asked; why it broke in *why.
  void WatchOnce(const Endpoint& endpoint, std::string* why);
  void SetConnected(bool connected, const std::string& why);

  const std::vector<Endpoint> endpoints_;
  const std::string prefix_;
  const EtcdWatchCallbacks callbacks_;
  int64_t next_revision_;  // the first revision not yet reported (watch thread only)
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  std::mutex socket_mu_;
  int socket_fd_ = -1;  // GUARDED_BY(socket_mu_): shut down by the destructor to end a read
  std::thread thread_;
};

}  // namespace cutover::store
