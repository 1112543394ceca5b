// AlarmEngine: the alarms of every deployed service, evaluated on the control loop against the
// MetricsStore the way CloudWatch evaluates them, with their states and transitions persisted.
//
// Cadence (EvaluationInterval): every alarm is evaluated at the multiples of its interval on the
// daemon's clock — each minute for periods of 60 s and more (a sliding window whose newest period
// ends at the evaluation time), every 10 s for 10/20/30 s periods, every second for the 1 s
// extension. An evaluation reads EvaluationRangeLength periods ending at that time, computes the
// statistic (or the metric-math expression) for each, and hands them to Evaluate().
//
// State: a new alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation") unless the
// store holds a state computed for the same definition (a restarted daemon resumes it). Each
// transition is one store transaction: the new state and a history entry with CloudWatch's reason
// and StateReasonData. A redeploy that changes an alarm's definition starts it over.
//
// Actions: after a transition is stored, the engine hands it to the ActionDispatcher (if any),
// which POSTs it to the http(s) actions of the new state when ActionsEnabled. Only transitions
// dispatch: an alarm's initial INSUFFICIENT_DATA (new, changed or resumed) does not.
//
// Source: the statistics come from a MetricSource — this node's MetricsStore, or Prometheus for
// a fleet (alarms/metric_source.h). When the source cannot answer, the evaluation is skipped and
// the state kept (logged once per outage), and so are the other alarms due in the same round and
// every alarm due within a backoff of 1 s doubling to 30 s: a hung source costs the control loop one
// query timeout per backoff, however many alarms. Each is evaluated again at its first interval after.
// A query the source refuses (InvalidArgument) skips that alarm only.
//
// Thread-safety: control loop only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alarms/actions.h"
#include "alarms/alarm_spec.h"
#include "alarms/evaluator.h"
#include "alarms/metric_source.h"
#include "common/clock.h"
#include "common/status.h"
#include "metrics/series_store.h"
#include "store/state_store.h"

namespace cutover::alarms {

struct AlarmView {
  AlarmSpec spec;
  std::string service;
  std::string stage;
  AlarmState state = AlarmState::kInsufficientData;
  std::string reason;
  std::string reason_data;   // StateReasonData JSON of the last transition
  int64_t updated_ms = 0;    // last transition
  int64_t evaluated_ms = 0;  // last evaluation (0: never)
  // The datapoints of the last evaluation's range, oldest first (for `cutover alarms` and charts).
  std::vector<Datapoint> last_range;
};

class AlarmEngine {
 public:
  // `actions` (optional) receives every transition; it must outlive the engine. Statistics come
  // from `metrics` (this node's data).
  AlarmEngine(metrics::MetricsStore& metrics, store::StateStore& store, const Clock& clock,
              ActionDispatcher* actions = nullptr);
  // Statistics come from `source` (e.g. Prometheus, for a fleet), which must outlive the engine.
  AlarmEngine(MetricSource& source, store::StateStore& store, const Clock& clock,
              ActionDispatcher* actions = nullptr);

  // OK when every statistic the alarm reads can come from the engine's metric source; otherwise
  // InvalidArgument naming the alarm and where it is defined ("serverless.yml:40:5: alarm X: ...").
  Status CheckSource(const AlarmSpec& spec) const;

  // Replaces the alarms of one service and stage. Alarms whose definition did not change keep
  // their state; new or changed ones start in INSUFFICIENT_DATA (or resume a stored state of the
  // same definition). Store errors are logged; evaluation goes on in memory.
  void SetServiceAlarms(const std::string& service, const std::string& stage,
                        std::vector<AlarmSpec> alarms);

  // Evaluates every alarm whose evaluation time has come, then stores and acts on the transitions:
  // EvaluateDue() then FlushTransitions().
  void Tick();
  // The two halves of Tick, for the daemon's control loop, which runs the deployment controller
  // between them: a transition to ALARM is in alarms() at once, so the controller flips the alias
  // back before the alarm's own store write (an fsync) is paid for.
  void EvaluateDue();
  // Stores each transition since the last call (state and history), then hands it to the actions.
  void FlushTransitions();
  // Evaluates one alarm now, at the latest evaluation time its cadence allows (tests, the CLI).
  Status EvaluateNow(const std::string& alarm_name);

  const std::map<std::string, AlarmView>& alarms() const { return alarms_; }
  const AlarmView* Find(const std::string& alarm_name) const;
  // The alarm's transitions, newest first, from the store.
  Result<std::vector<store::AlarmHistoryRecord>> History(const std::string& alarm_name,
                                                         size_t limit) const;

  // The alarm's last action deliveries, newest first (empty without a dispatcher).
  std::vector<DeliveryRecord> Deliveries(const std::string& alarm_name) const;

  // A hash of everything that decides an alarm's state (not its description or actions).
  static std::string DefinitionHash(const AlarmSpec& spec);

 private:
  struct Entry;
  // The metric source's error when it could not answer (the view is left as it was):
  // InvalidArgument when this alarm's query was refused, anything else when the source is down.
  Status Evaluate(AlarmView& view, int64_t eval_time_s);
  Result<std::vector<Datapoint>> BuildRange(const AlarmSpec& spec, int64_t eval_time_s);
  void Persist(const AlarmView& view, AlarmState old_state);

  // A transition evaluated but not yet stored and acted on.
  struct Transition {
    std::string alarm_name;
    AlarmState old_state;
  };
  std::vector<Transition> unflushed_;

  std::unique_ptr<MetricSource> owned_source_;  // the LocalMetricSource of the first constructor
  MetricSource* source_;
  std::string source_error_;  // the last read error, logged once until reads work again
  std::map<std::string, std::string> query_errors_;  // by AlarmName: its refused query, logged once
  int64_t source_backoff_s_ = 0;  // after a failed read: how long reads pause (0: none failed)
  int64_t source_retry_s_ = 0;    // no read before this time (daemon clock, seconds)
  store::StateStore& store_;
  const Clock& clock_;
  ActionDispatcher* actions_;                      // may be null
  std::map<std::string, AlarmView> alarms_;        // by AlarmName
  std::map<std::string, int64_t> next_eval_s_;     // by AlarmName: the next evaluation time
  std::map<std::string, std::string> definition_;  // by AlarmName: DefinitionHash
};

}  // namespace cutover::alarms
