// Following deployments until they end: what `cutover deploy --wait` does after publishing.
//
// The events come from the admin API's SSE stream (`GET /v1/events`); the stream is opened before
// the deployments are first read (`GET /v1/deployments/{id}`), so no event falls between the two,
// and each deployment's events are numbered (seq), so one seen twice is dropped and a gap is
// filled by reading the deployment again. A stream that drops is reopened with Last-Event-ID; while
// it is down, and for good when the daemon has no /v1/events, the deployments are polled every
// 500 ms. When a deployment has ended it is read once more, so its log is complete.
//
// Output, one of:
//   - live (a terminal): each event as a line, and below them a block per deployment redrawn in
//     place (deployment_view.h's LiveViewLines) with per-version metrics and the alarms;
//   - lines: one line per event, prefixed by the deployment id, then how each one ended;
//   - quiet (--json): nothing; the caller prints the result.
//
// Thread-safety: used from the CLI's one thread.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/admin_client.h"
#include "cli/command_context.h"
#include "cli/deployment_view.h"
#include "common/status.h"

namespace cutover::cli {

// The deployments being followed, as far as the daemon has told: pure bookkeeping of the API's
// documents, so the rules (dedupe, gaps, when a log is complete) are testable without a daemon.
class DeploymentTracker final {
 public:
  struct Followed {
    std::string id;
    boost::json::object deployment;           // the newest D
    std::vector<boost::json::object> events;  // E, in seq order, no duplicates
    int64_t last_seq = 0;
    bool complete = false;  // ended, and the log was read after it ended
  };
  // A new event of a followed deployment, to print.
  struct Fresh {
    const Followed* deployment;
    boost::json::object event;
  };
  enum class Applied {
    kNew,        // appended
    kSeen,       // a duplicate (seq already seen)
    kGap,        // events before it are missing: read the deployment again
    kUnfollowed  // another deployment's event, or not a deployment event
  };

  explicit DeploymentTracker(const std::vector<std::string>& ids);

  // A `GET /v1/deployments/{id}` answer ({"deployment": D, "events": [E...]}). Appends the events
  // not seen before to `fresh`.
  void ApplySnapshot(const boost::json::object& body, std::vector<Fresh>& fresh);
  // The data of one `/v1/events` message ({"deploymentId", "seq", "time", "type", "data",
  // "deployment"}). On kNew the event is appended to `fresh`.
  Applied ApplyStreamEvent(const boost::json::object& message, std::vector<Fresh>& fresh);

  // Every followed deployment has ended and its complete log was read.
  bool Done() const;
  const std::vector<Followed>& deployments() const { return deployments_; }
  std::vector<boost::json::object> FinalDeployments() const;

 private:
  Followed* Find(const std::string& id);

  std::vector<Followed> deployments_;
};

// The daemon's clock as seen from here: it runs `serve --time-scale` times fast, so countdowns
// need both where it is and how fast it goes. The scale comes from /v1/health when the daemon says
// it; else it is measured from events seen arriving at least two seconds apart.
class DaemonClock final {
 public:
  explicit DaemonClock(std::optional<double> known_scale);

  // An event stamped `daemon_ms` was seen now (events arrive within a control tick).
  void Observe(int64_t daemon_ms);
  int64_t NowMs() const;
  double scale() const { return scale_; }

 private:
  using Steady = std::chrono::steady_clock;
  bool scale_known_;
  double scale_ = 1.0;
  std::optional<std::pair<int64_t, Steady::time_point>> first_;
  std::optional<std::pair<int64_t, Steady::time_point>> latest_;
};

enum class FollowOutput { kLive, kLines, kQuiet };

struct FollowOptions {
  FollowOutput output = FollowOutput::kLines;
  std::optional<double> time_scale;  // the daemon's, when /v1/health tells
  std::chrono::milliseconds poll_interval{500};
  // How long the daemon may be unreachable (a restart) before following gives up.
  std::chrono::milliseconds give_up_after{60000};
};

struct FollowResult {
  std::vector<boost::json::object> deployments;  // the last D of each id, in the order given
  bool interrupted = false;  // context.wait said stop before every deployment ended
};

// Follows `ids` until every one has ended (or context.wait says stop). Fails when a deployment
// cannot be read at all, or the daemon stayed unreachable for give_up_after.
Result<FollowResult> FollowDeployments(Context& context, const AdminClient& admin,
                                       const std::vector<std::string>& ids,
                                       const FollowOptions& options);

}  // namespace cutover::cli
