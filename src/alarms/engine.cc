#include "alarms/engine.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/sha256.h"

namespace cutover::alarms {
namespace {

constexpr char kInitialReason[] = "Unchecked: Initial alarm creation";

int64_t FloorTo(int64_t t, int64_t step) {
  int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}

}  // namespace

AlarmEngine::AlarmEngine(metrics::MetricsStore& metrics, store::StateStore& store,
                         const Clock& clock, ActionDispatcher* actions)
    : owned_source_(std::make_unique<LocalMetricSource>(metrics)),
      source_(owned_source_.get()),
      store_(store),
      clock_(clock),
      actions_(actions) {}

AlarmEngine::AlarmEngine(MetricSource& source, store::StateStore& store, const Clock& clock,
                         ActionDispatcher* actions)
    : source_(&source), store_(store), clock_(clock), actions_(actions) {}

Status AlarmEngine::CheckSource(const AlarmSpec& spec) const {
  auto check = [&](const metrics::MetricKey& key, const metrics::Statistic& stat) -> Status {
    Status st = source_->Supports(key, stat);
    if (st.ok()) return st;
    return InvalidArgument(fmt::format("{}:{}:{}: alarm {}: {} (metric source {})", spec.where.file,
                                       spec.where.line, spec.where.column, spec.alarm_name,
                                       st.message(), source_->Describe()));
  };
  if (spec.metric) CUTOVER_RETURN_IF_ERROR(check(*spec.metric, spec.statistic));
  for (const MetricDataQuery& q : spec.metrics) {
    if (q.metric_stat) CUTOVER_RETURN_IF_ERROR(check(q.metric_stat->metric, q.metric_stat->stat));
  }
  return Status::Ok();
}

std::string AlarmEngine::DefinitionHash(const AlarmSpec& spec) {
  std::string text =
      fmt::format("p={};n={};m={};t={};c={};x={};low={};u={};", spec.period_seconds,
                  spec.evaluation_periods, spec.datapoints_to_alarm, spec.threshold,
                  ComparisonName(spec.comparison), TreatMissingDataName(spec.treat_missing_data),
                  spec.evaluate_low_sample_count_percentile, spec.unit.value_or(""));
  if (spec.metric)
    text += fmt::format("metric={};stat={};", spec.metric->ToString(),
                        metrics::ToString(spec.statistic));
  for (const MetricDataQuery& q : spec.metrics) {
    text += fmt::format("q={}:{}:", q.id, q.return_data);
    if (q.metric_stat) {
      text += fmt::format("{}:{}:{};", q.metric_stat->metric.ToString(),
                          q.metric_stat->period_seconds, metrics::ToString(q.metric_stat->stat));
    }
    if (q.expression) text += q.expression->text() + ";";
  }
  return Sha256Hex(text);
}

void AlarmEngine::SetServiceAlarms(const std::string& service, const std::string& stage,
                                   std::vector<AlarmSpec> alarms) {
  const int64_t now_ms = ToEpochMillis(clock_.Now());
  const int64_t now_s = metrics::SecondOf(now_ms);
  std::map<std::string, AlarmSpec> incoming;
  for (AlarmSpec& spec : alarms) {
    std::string name = spec.alarm_name;
    incoming.emplace(std::move(name), std::move(spec));
  }
  // Alarms of this service that are gone.
  for (auto it = alarms_.begin(); it != alarms_.end();) {
    if (it->second.service == service && it->second.stage == stage && !incoming.count(it->first)) {
      Status st =
          store_.Write([&](store::StoreTxn& txn) { return txn.DeleteAlarmState(it->first); });
      if (!st.ok()) spdlog::warn("alarm {}: cannot forget its state: {}", it->first, st.ToString());
      next_eval_s_.erase(it->first);
      definition_.erase(it->first);
      it = alarms_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& entry : incoming) {
    // Not a structured binding: clang before 16 cannot capture one in a lambda.
    const std::string& name = entry.first;
    AlarmSpec& spec = entry.second;
    const std::string hash = DefinitionHash(spec);
    auto existing = alarms_.find(name);
    if (existing != alarms_.end() && definition_[name] == hash) {
      existing->second.spec = std::move(spec);  // description, actions: no new state
      continue;
    }
    AlarmView view;
    view.spec = std::move(spec);
    view.service = service;
    view.stage = stage;
    view.reason = kInitialReason;
    view.updated_ms = now_ms;
    std::optional<store::AlarmStateRecord> stored;
    Status st = store_.Read([&](store::StoreTxn& txn) -> Status {
      CUTOVER_ASSIGN_OR_RETURN(stored, txn.GetAlarmState(name));
      return Status::Ok();
    });
    if (!st.ok()) spdlog::warn("alarm {}: cannot read its state: {}", name, st.ToString());
    if (stored && stored->definition_sha256 == hash) {
      if (auto state = ParseAlarmState(stored->state); state.ok()) {
        view.state = *state;
        view.reason = stored->reason;
        view.reason_data = stored->reason_data;
        view.updated_ms = stored->updated_ms;
      }
    } else {
      st = store_.Write([&](store::StoreTxn& txn) {
        return txn.PutAlarmState(store::AlarmStateRecord{
            name, std::string(AlarmStateName(view.state)), view.reason, "", now_ms, hash});
      });
      if (!st.ok()) spdlog::warn("alarm {}: cannot store its state: {}", name, st.ToString());
    }
    const int64_t interval = EvaluationInterval(view.spec.period_seconds).count();
    next_eval_s_[name] = FloorTo(now_s, interval) + interval;
    definition_[name] = hash;
    alarms_[name] = std::move(view);
  }
}

void AlarmEngine::Tick() {
  EvaluateDue();
  FlushTransitions();
}

void AlarmEngine::FlushTransitions() {
  std::vector<Transition> pending;
  pending.swap(unflushed_);
  for (const Transition& t : pending) {
    auto it = alarms_.find(t.alarm_name);
    if (it == alarms_.end()) continue;  // its service was redeployed without it
    const AlarmView& view = it->second;
    Persist(view, t.old_state);
    // Persist, then act: the actions only enqueue, so evaluation never waits for the network.
    if (actions_) {
      actions_->Dispatch(view.spec, t.old_state, view.state, view.reason, view.reason_data,
                         view.updated_ms);
    }
  }
}

void AlarmEngine::EvaluateDue() {
  const int64_t now_s = metrics::SecondOf(ToEpochMillis(clock_.Now()));
  // Once the source failed, the round's other alarms keep their state without asking it, and so
  // does every alarm until a backoff (1 s doubling to 30 s) has passed: a Prometheus that hangs
  // costs the control loop one query timeout per backoff, not one per alarm and period.
  bool source_failed = now_s < source_retry_s_;
  for (auto& [name, view] : alarms_) {
    int64_t& next = next_eval_s_[name];
    if (now_s < next) continue;
    const int64_t interval = EvaluationInterval(view.spec.period_seconds).count();
    const int64_t eval_time = FloorTo(now_s, interval);
    if (!source_failed) {
      Status st = Evaluate(view, eval_time);
      if (st.ok()) {
        source_backoff_s_ = 0;
      } else if (st.code() != StatusCode::kInvalidArgument) {  // the source, not this alarm
        source_failed = true;
        source_backoff_s_ = std::min<int64_t>(std::max<int64_t>(1, source_backoff_s_ * 2), 30);
        source_retry_s_ = now_s + source_backoff_s_;
      }
    }
    next = eval_time + interval;
  }
}

Status AlarmEngine::EvaluateNow(const std::string& alarm_name) {
  auto it = alarms_.find(alarm_name);
  if (it == alarms_.end()) return NotFound(fmt::format("no alarm named {}", alarm_name));
  const int64_t now_s = metrics::SecondOf(ToEpochMillis(clock_.Now()));
  const int64_t interval = EvaluationInterval(it->second.spec.period_seconds).count();
  Status st = Evaluate(it->second, FloorTo(now_s, interval));
  FlushTransitions();
  return st;
}

const AlarmView* AlarmEngine::Find(const std::string& alarm_name) const {
  auto it = alarms_.find(alarm_name);
  return it == alarms_.end() ? nullptr : &it->second;
}

std::vector<DeliveryRecord> AlarmEngine::Deliveries(const std::string& alarm_name) const {
  return actions_ ? actions_->Deliveries(alarm_name) : std::vector<DeliveryRecord>{};
}

Result<std::vector<store::AlarmHistoryRecord>> AlarmEngine::History(const std::string& alarm_name,
                                                                    size_t limit) const {
  std::vector<store::AlarmHistoryRecord> out;
  Status st = store_.Read([&](store::StoreTxn& txn) -> Status {
    CUTOVER_ASSIGN_OR_RETURN(out, txn.ListAlarmHistory(alarm_name, limit));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Datapoint>> AlarmEngine::BuildRange(const AlarmSpec& spec, int64_t eval_time_s) {
  const int64_t period = spec.period_seconds;
  const int length = EvaluationRangeLength(spec.period_seconds, spec.evaluation_periods);
  const int64_t first_start = eval_time_s - length * period;
  std::vector<Datapoint> range(static_cast<size_t>(length));
  for (int i = 0; i < length; ++i) {
    range[static_cast<size_t>(i)].timestamp = FromEpochMillis((first_start + i * period) * 1000);
  }
  if (spec.metric) {
    CUTOVER_ASSIGN_OR_RETURN(
        std::vector<PeriodValue> got,
        source_->ReadPeriods(*spec.metric, spec.statistic, first_start, period, length));
    for (int i = 0; i < length; ++i) {
      Datapoint& dp = range[static_cast<size_t>(i)];
      dp.value = got[static_cast<size_t>(i)].value;
      if (dp.value) dp.sample_count = static_cast<double>(got[static_cast<size_t>(i)].samples);
    }
  } else if (!spec.metrics.empty()) {
    std::map<std::string, std::vector<PeriodValue>> by_id;
    for (const MetricDataQuery& q : spec.metrics) {
      if (!q.metric_stat) continue;
      CUTOVER_ASSIGN_OR_RETURN(
          by_id[q.id], source_->ReadPeriods(q.metric_stat->metric, q.metric_stat->stat, first_start,
                                            period, length));
    }
    for (int i = 0; i < length; ++i) {
      Expression::Values values;
      for (const auto& [id, periods] : by_id) values[id] = periods[static_cast<size_t>(i)].value;
      range[static_cast<size_t>(i)].value = EvaluateMetricsAt(spec, values);
    }
  }
  return range;
}

Status AlarmEngine::Evaluate(AlarmView& view, int64_t eval_time_s) {
  EvaluationParams params = MakeEvaluationParams(view.spec);
  params.now = FromEpochMillis(eval_time_s * 1000);
  Result<std::vector<Datapoint>> built = BuildRange(view.spec, eval_time_s);
  if (!built.ok()) {
    // Not missing data: the source could not say. Keep the state; try again next interval. A
    // refused query is this alarm's own trouble; anything else is the source's (logged once).
    const Status& st = built.status();
    std::string& last = st.code() == StatusCode::kInvalidArgument
                            ? query_errors_[view.spec.alarm_name]
                            : source_error_;
    if (st.message() != last) {
      last = st.message();
      spdlog::warn("alarm {}: not evaluated, {} cannot answer: {}; its state stays {}",
                   view.spec.alarm_name, source_->Describe(), last, AlarmStateName(view.state));
    }
    return st;
  }
  query_errors_.erase(view.spec.alarm_name);
  if (!source_error_.empty()) {
    spdlog::info("alarms: {} answers again", source_->Describe());
    source_error_.clear();
  }
  std::vector<Datapoint> range = std::move(built).value();
  Evaluation ev = alarms::Evaluate(params, range, view.state);
  view.last_range = std::move(range);
  view.evaluated_ms = eval_time_s * 1000;
  if (!ev.changed) return Status::Ok();
  const AlarmState old_state = view.state;
  view.state = ev.state;
  view.reason = ev.reason;
  view.reason_data = ReasonDataJson(ev, params);
  view.updated_ms = ToEpochMillis(clock_.Now());
  spdlog::info("alarm {}: {} -> {}: {}", view.spec.alarm_name, AlarmStateName(old_state),
               AlarmStateName(view.state), view.reason);
  unflushed_.push_back({view.spec.alarm_name, old_state});
  return Status::Ok();
}

void AlarmEngine::Persist(const AlarmView& view, AlarmState old_state) {
  const std::string& name = view.spec.alarm_name;
  const std::string definition = definition_[name];
  Status st = store_.Write([&](store::StoreTxn& txn) -> Status {
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(
        store::AlarmStateRecord{name, std::string(AlarmStateName(view.state)), view.reason,
                                view.reason_data, view.updated_ms, definition}));
    return txn.AppendAlarmHistory(store::AlarmHistoryRecord{
        name, view.updated_ms, std::string(AlarmStateName(old_state)),
        std::string(AlarmStateName(view.state)), view.reason, view.reason_data});
  });
  if (!st.ok()) {
    spdlog::error("alarm {}: its transition to {} could not be stored: {}", name,
                  AlarmStateName(view.state), st.ToString());
  }
}

}  // namespace cutover::alarms
