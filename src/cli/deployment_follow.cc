#include "cli/deployment_follow.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <charconv>
#include <cmath>
#include <map>
#include <ostream>
#include <set>

#include "cli/event_stream.h"
#include "cli/json_fields.h"

namespace cutover::cli {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// While the stream is up, each unfinished deployment is still read this often: a stream that
// skips events without a gap in what it does send (a restarted daemon numbers its stream anew,
// so an old Last-Event-ID may hide new events) must not stall the wait.
constexpr milliseconds kSafetyReadInterval{5000};
// How often the live view asks for metrics and alarm states.
constexpr milliseconds kStatsInterval{2000};
// How long one wait for stream events lasts: the live view redraws (countdown) in between.
constexpr milliseconds kLiveFrame{250};
constexpr milliseconds kLinesFrame{1000};

json::object EventFrom(const json::object& source) {
  json::object event;
  for (const char* key : {"seq", "time", "type", "data"}) {
    if (const json::value* v = source.if_contains(key)) event[key] = *v;
  }
  return event;
}

// ---- Live metrics

// The live view's numbers: per-version Invocations, Errors and Duration p99 of the alias
// (AWS/Lambda with ExecutedVersion), the API's 5XXError, and the alarms' states. Each query that
// fails leaves its number unknown; a daemon without metrics or alarms is not asked again.
class StatsSource final {
 public:
  explicit StatsSource(const AdminClient& admin) : admin_(admin) {}

  LiveStats Fetch(const json::object& deployment, double scale) {
    LiveStats stats;
    const json::object& target = GetObject(deployment, {"lambdaTarget"});
    const std::string function = GetString(target, {"functionName"});
    const std::string resource = function + ":" + GetString(target, {"functionAlias"});
    // About ten real seconds per period, in the daemon's seconds (which --time-scale speeds up);
    // the newest complete period is the one shown.
    period_s_ = std::clamp<int64_t>(std::llround(10.0 * scale), 10, 300);
    const double real_period_s = static_cast<double>(period_s_) / std::max(scale, 1e-3);
    for (const char* key : {"currentVersion", "targetVersion"}) {
      const std::string version = GetString(target, {key});
      if (version.empty() || metrics_off_) continue;
      const std::string dimensions = fmt::format("ExecutedVersion={},FunctionName={},Resource={}",
                                                 version, function, resource);
      VersionStats& v = stats.versions[version];
      if (auto sum = Query("AWS/Lambda", "Invocations", dimensions, "Sum", true)) {
        v.requests_per_second = *sum / real_period_s;
      }
      if (auto sum = Query("AWS/Lambda", "Errors", dimensions, "Sum", true)) {
        v.errors_per_second = *sum / real_period_s;
      }
      v.p99_ms = Query("AWS/Lambda", "Duration", dimensions, "p99", false);
    }
    // serverless' default API name; an API named otherwise (provider.apiName) shows no 5XX line.
    const std::string api = fmt::format("ApiName={}-{}", GetString(deployment, {"stage"}),
                                        GetString(deployment, {"service"}));
    if (!metrics_off_ && missing_apis_.count(api) == 0) {
      bool exists = true;
      if (auto sum = Query("AWS/ApiGateway", "5XXError", api, "Sum", true, &exists)) {
        stats.api_5xx_per_second = *sum / real_period_s;
      }
      if (!exists) missing_apis_.insert(api);
    }
    if (!alarms_off_ && !GetArray(deployment, {"alarms"}).empty()) {
      Result<json::value> alarms = admin_.Call("GET", "/v1/alarms");
      if (!alarms.ok() && alarms.status().code() == StatusCode::kNotFound) alarms_off_ = true;
      if (alarms.ok()) {
        for (const json::value& v : GetArray(AsObject(*alarms), {"alarms"})) {
          stats.alarms[GetString(AsObject(v), {"name"})] = AsObject(v);
        }
      }
    }
    return stats;
  }

 private:
  // The newest complete period's value; with `zero_when_empty` (a Sum) an empty period is 0.
  std::optional<double> Query(const char* ns, const char* name, const std::string& dimensions,
                              const char* statistic, bool zero_when_empty, bool* exists = nullptr) {
    const int64_t minutes = std::max<int64_t>(1, (period_s_ * 3 + 59) / 60);
    Result<json::value> answer = admin_.Call(
        "GET", fmt::format("/v1/metrics/query?namespace={}&name={}&statistic={}&period={}"
                           "&minutes={}&dimensions={}",
                           PercentEncode(ns), PercentEncode(name), PercentEncode(statistic),
                           period_s_, minutes, PercentEncode(dimensions, "=,")));
    if (!answer.ok()) {
      if (answer.status().code() == StatusCode::kNotFound) metrics_off_ = true;
      return std::nullopt;
    }
    const json::object& o = AsObject(*answer);
    if (exists != nullptr && o.contains("exists")) *exists = GetBool(o, "exists");
    const json::array& points = GetArray(o, {"datapoints"});
    // Periods are aligned to the epoch; the last one is still filling.
    if (points.size() < 2) return std::nullopt;
    const json::value* value = AsObject(points[points.size() - 2]).if_contains("value");
    if (value != nullptr && value->is_number()) return value->to_number<double>();
    return zero_when_empty ? std::optional<double>(0.0) : std::nullopt;
  }

  const AdminClient& admin_;
  int64_t period_s_ = 10;
  bool metrics_off_ = false;
  bool alarms_off_ = false;
  std::set<std::string> missing_apis_;
};

// ---- Redrawing in place

// The terminal's width, or 0 when unknown ($COLUMNS wins, as for other tools).
int TerminalColumns(const Context& context) {
  if (auto columns = context.getenv("COLUMNS")) {
    int n = 0;
    auto [end, ec] = std::from_chars(columns->data(), columns->data() + columns->size(), n);
    if (ec == std::errc() && n > 0) return n;
  }
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 0;
}

// `line` cut to `columns` display columns, colour sequences kept whole and not counted: a line
// that wraps would take two rows and throw the redraw off.
std::string Fit(const std::string& line, int columns) {
  if (columns <= 0) return line;
  std::string out;
  int width = 0;
  bool cut = false;
  for (size_t i = 0; i < line.size();) {
    if (line[i] == '\x1b') {  // ESC [ ... m
      const size_t end = line.find('m', i);
      if (end == std::string::npos) break;
      out.append(line, i, end + 1 - i);
      i = end + 1;
      continue;
    }
    size_t length = 1;  // the bytes of one UTF-8 code point
    while (i + length < line.size() &&
           (static_cast<unsigned char>(line[i + length]) & 0xC0) == 0x80) {
      ++length;
    }
    if (width + 1 > columns) {
      cut = true;
      break;
    }
    out.append(line, i, length);
    ++width;
    i += length;
  }
  return cut ? out + "\x1b[0m" : line;
}

class Printer final {
 public:
  Printer(Context& context, const AdminClient& admin, FollowOutput output, bool several)
      : context_(context),
        output_(output),
        several_(several),
        stats_(admin),
        columns_(output == FollowOutput::kLive ? TerminalColumns(context) : 0) {}

  // Prints what is new: each fresh event, and how each deployment that completed ended; in the
  // live view also the redrawn block.
  void Update(const std::vector<DeploymentTracker::Fresh>& fresh, const DeploymentTracker& tracker,
              const DaemonClock& clock) {
    if (output_ == FollowOutput::kQuiet) return;
    std::vector<std::string> above;
    for (const DeploymentTracker::Fresh& f : fresh) {
      const std::string alias =
          GetString(GetObject(f.deployment->deployment, {"lambdaTarget"}), {"functionAlias"});
      std::string line = EventLine(f.event, alias, context_.style);
      if (several_ || output_ == FollowOutput::kLines) line = f.deployment->id + " " + line;
      above.push_back(std::move(line));
    }
    if (output_ == FollowOutput::kLines) {
      for (const DeploymentTracker::Followed& d : tracker.deployments()) {
        if (!d.complete || !reported_.insert(d.id).second) continue;
        std::vector<std::string> outcome =
            OutcomeLines(d.deployment, d.events, context_.style, clock.scale());
        for (size_t i = 0; i < outcome.size(); ++i) {
          above.push_back(i == 0 ? d.id + " " + outcome[i] : outcome[i]);
        }
      }
      for (const std::string& line : above) context_.out << line << '\n';
      context_.out.flush();
      return;
    }
    RefreshStats(tracker, clock);
    std::vector<std::string> block;
    for (const DeploymentTracker::Followed& d : tracker.deployments()) {
      for (std::string& line : LiveViewLines(d.deployment, d.events, stats_by_id_[d.id],
                                             clock.NowMs(), clock.scale(), context_.style)) {
        block.push_back(std::move(line));
      }
    }
    Draw(above, block);
  }

 private:
  void RefreshStats(const DeploymentTracker& tracker, const DaemonClock& clock) {
    const Steady::time_point now = Steady::now();
    if (stats_fetched_ && now - stats_fetched_at_ < kStatsInterval) return;
    stats_fetched_ = true;
    stats_fetched_at_ = now;
    for (const DeploymentTracker::Followed& d : tracker.deployments()) {
      if (!DeploymentEnded(d.deployment)) {
        stats_by_id_[d.id] = stats_.Fetch(d.deployment, clock.scale());
      }
    }
  }

  // Replaces the block drawn last: up to its first line, clear to the end of the screen, the new
  // permanent lines, the new block; written at once so the terminal does not flicker.
  void Draw(const std::vector<std::string>& above, const std::vector<std::string>& block) {
    std::string frame;
    if (drawn_ > 0) frame += fmt::format("\x1b[{}F\x1b[J", drawn_);
    for (const std::string& line : above) frame += line + "\n";
    for (const std::string& line : block) frame += Fit(line, columns_) + "\n";
    drawn_ = block.size();
    context_.out << frame;
    context_.out.flush();
  }

  Context& context_;
  FollowOutput output_;
  bool several_;
  StatsSource stats_;
  int columns_;
  size_t drawn_ = 0;
  std::set<std::string> reported_;
  std::map<std::string, LiveStats> stats_by_id_;
  bool stats_fetched_ = false;
  Steady::time_point stats_fetched_at_;
};

}  // namespace

// ---- DeploymentTracker

DeploymentTracker::DeploymentTracker(const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (Find(id) == nullptr) deployments_.push_back(Followed{id, {}, {}, 0, false});
  }
}

DeploymentTracker::Followed* DeploymentTracker::Find(const std::string& id) {
  for (Followed& d : deployments_) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

void DeploymentTracker::ApplySnapshot(const json::object& body, std::vector<Fresh>& fresh) {
  const json::object& deployment = GetObject(body, {"deployment"});
  Followed* d = Find(GetString(deployment, {"deploymentId"}));
  if (d == nullptr) return;
  d->deployment = deployment;
  std::vector<json::object> events;
  for (const json::value& v : GetArray(body, {"events"})) events.push_back(EventFrom(AsObject(v)));
  std::stable_sort(events.begin(), events.end(), [](const json::object& a, const json::object& b) {
    return GetInt(a, {"seq"}) < GetInt(b, {"seq"});
  });
  for (json::object& event : events) {
    const int64_t seq = GetInt(event, {"seq"});
    if (seq <= d->last_seq) continue;
    d->last_seq = seq;
    d->events.push_back(event);
    fresh.push_back(Fresh{d, std::move(event)});
  }
  // The deployment and its events are written in one transaction, so a log read after the end
  // has every event.
  d->complete = DeploymentEnded(deployment);
}

DeploymentTracker::Applied DeploymentTracker::ApplyStreamEvent(const json::object& message,
                                                               std::vector<Fresh>& fresh) {
  Followed* d = Find(GetString(message, {"deploymentId"}));
  if (d == nullptr) return Applied::kUnfollowed;
  const int64_t seq = GetInt(message, {"seq"});
  if (seq <= d->last_seq) return Applied::kSeen;
  if (seq > d->last_seq + 1) return Applied::kGap;
  d->last_seq = seq;
  json::object event = EventFrom(message);
  d->events.push_back(event);
  if (const json::object& deployment = GetObject(message, {"deployment"}); !deployment.empty()) {
    d->deployment = deployment;
  }
  fresh.push_back(Fresh{d, std::move(event)});
  return Applied::kNew;
}

bool DeploymentTracker::Done() const {
  return std::all_of(deployments_.begin(), deployments_.end(),
                     [](const Followed& d) { return d.complete; });
}

std::vector<json::object> DeploymentTracker::FinalDeployments() const {
  std::vector<json::object> out;
  for (const Followed& d : deployments_) out.push_back(d.deployment);
  return out;
}

// ---- DaemonClock

DaemonClock::DaemonClock(std::optional<double> known_scale)
    : scale_known_(known_scale.has_value() && *known_scale > 0),
      scale_(scale_known_ ? *known_scale : 1.0) {}

void DaemonClock::Observe(int64_t daemon_ms) {
  if (daemon_ms <= 0) return;
  // An event older than the newest seen (a replay after reconnecting) says nothing about now.
  if (latest_ && daemon_ms <= latest_->first) return;
  const Steady::time_point now = Steady::now();
  if (!first_) first_.emplace(daemon_ms, now);
  latest_.emplace(daemon_ms, now);
  const double real_ms = std::chrono::duration<double, std::milli>(now - first_->second).count();
  if (!scale_known_ && real_ms >= 2000) {
    scale_ = std::clamp(static_cast<double>(daemon_ms - first_->first) / real_ms, 0.01, 100000.0);
  }
}

int64_t DaemonClock::NowMs() const {
  if (!latest_) {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  const double real_ms =
      std::chrono::duration<double, std::milli>(Steady::now() - latest_->second).count();
  return latest_->first + std::llround(real_ms * scale_);
}

// ---- Following

Result<FollowResult> FollowDeployments(Context& context, const AdminClient& admin,
                                       const std::vector<std::string>& ids,
                                       const FollowOptions& options) {
  DeploymentTracker tracker(ids);
  DaemonClock clock(options.time_scale);
  Printer printer(context, admin, options.output, ids.size() > 1);
  std::string target = "/v1/events";
  if (ids.size() == 1) target += "?deployment=" + PercentEncode(ids.front());
  EventStream stream(admin.endpoint(), admin.token(), target);

  // Opened before the deployments are first read, so no event falls between the two.
  Status opened = stream.Open("");
  // A daemon that answers, but not with a stream, has no /v1/events: poll it.
  bool stream_served = opened.ok() || opened.code() == StatusCode::kUnavailable;
  bool connected = opened.ok();

  std::vector<DeploymentTracker::Fresh> fresh;
  std::set<std::string> to_read(ids.begin(), ids.end());
  Steady::time_point last_contact = Steady::now();
  Steady::time_point last_safety_read = Steady::now();
  bool first_read = true;
  FollowResult result;

  while (true) {
    for (auto it = to_read.begin(); it != to_read.end();) {
      Result<json::value> body = admin.Call("GET", "/v1/deployments/" + PercentEncode(*it));
      if (!body.ok()) {
        // The first read must work (the deployment exists, the daemon has the endpoint); after
        // that, a daemon that is restarting or failing for a moment is waited for.
        if (first_read) return body.status();
        if (Steady::now() - last_contact > options.give_up_after) {
          return body.status().WithPrefix(fmt::format(
              "no answer about the deployments for {} s",
              std::chrono::duration_cast<std::chrono::seconds>(options.give_up_after).count()));
        }
        break;
      }
      last_contact = Steady::now();
      const size_t before = fresh.size();
      tracker.ApplySnapshot(AsObject(*body), fresh);
      // An event first seen by a read was written at most a poll interval ago.
      for (size_t i = before; i < fresh.size(); ++i) {
        clock.Observe(GetInt(fresh[i].event, {"time"}));
      }
      it = to_read.erase(it);
    }
    first_read = false;
    printer.Update(fresh, tracker, clock);
    fresh.clear();
    if (tracker.Done()) break;

    if (connected) {
      Result<std::vector<SseEvent>> got =
          stream.Next(options.output == FollowOutput::kLive ? kLiveFrame : kLinesFrame);
      connected = got.ok();
      if (got.ok()) last_contact = Steady::now();
      const std::vector<SseEvent> none;
      for (const SseEvent& e : got.ok() ? *got : none) {
        boost::system::error_code ec;
        json::value message = json::parse(e.data, ec);
        if (ec) continue;  // the next read of the deployment covers whatever this was
        const json::object& m = AsObject(message);
        const std::string id = GetString(m, {"deploymentId"});
        switch (tracker.ApplyStreamEvent(m, fresh)) {
          case DeploymentTracker::Applied::kNew:
            clock.Observe(GetInt(m, {"time"}));
            // The message's D may have ended before the rest of its transaction's events
            // arrived; the final read gets them all.
            if (DeploymentEnded(GetObject(m, {"deployment"}))) to_read.insert(id);
            break;
          case DeploymentTracker::Applied::kGap:
            to_read.insert(id);
            break;
          case DeploymentTracker::Applied::kSeen:
          case DeploymentTracker::Applied::kUnfollowed:
            break;
        }
      }
    } else {
      if (!context.wait(options.poll_interval)) {
        result.interrupted = true;
        break;
      }
      if (stream_served) {
        Status reopened = stream.Open(stream.last_event_id());
        connected = reopened.ok();
        if (!reopened.ok() && reopened.code() != StatusCode::kUnavailable) stream_served = false;
      }
    }
    // Without a stream every poll reads them all; with one, now and then (kSafetyReadInterval).
    if (!connected || Steady::now() - last_safety_read >= kSafetyReadInterval) {
      for (const DeploymentTracker::Followed& d : tracker.deployments()) {
        if (!d.complete) to_read.insert(d.id);
      }
      last_safety_read = Steady::now();
    }
  }
  result.deployments = tracker.FinalDeployments();
  return result;
}

}  // namespace cutover::cli
