// RuntimeApiState: the pure state machine of one instance's Lambda Runtime API.
//
// It decides, without sockets or processes, what each Runtime API call means in the current state:
// whether a GET /next delivers an assigned invocation now or parks, whether a POST /response or
// /error is accepted (202), names the wrong request (400 InvalidRequestID), comes at the wrong time
// (403 InvalidStateTransition), or is too large (413 RequestEntityTooLarge). The bodies follow the
// Runtime Interface Emulator (aws-semantics.md 5.1, 5.4 and 7.16).
//
//   kInitializing --/next--> kWaiting (or kInvoking when an invocation is already assigned)
//   kWaiting      --Assign--> kInvoking (deliver now)
//   kReady        --Assign--> kReady + pending --/next--> kInvoking
//   kInvoking     --/response|/error(current id)--> kReady
//   kInitializing --/init/error--> kInitFailed
//
// Request ids are checked before states, as RIE's middleware does: an id other than the last
// delivered one gets 400; the last delivered id after its answer (a second POST) gets 403.
//
// Thread-safety: none; InstancePool guards each instance's state with the pool mutex.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cutover::runtime {

// Lambda's synchronous payload limit as enforced by RIE: 6 MiB + 100 bytes, for the invocation
// payload and for the buffered response.
inline constexpr size_t kMaxPayloadBytes = 6 * 1024 * 1024 + 100;

enum class ApiState {
  kInitializing,  // the process started; it has not asked for an invocation yet
  kWaiting,       // a GET /next is parked; no invocation
  kInvoking,      // an invocation was delivered; waiting for /response or /error
  kReady,         // between invocations and no /next parked (after an answer)
  kInitFailed,    // /init/error was posted; the instance is finished
};
std::string_view ApiStateName(ApiState state);

// What the server answers the runtime. 202 {"status":"OK"} unless stated otherwise.
struct ApiReply {
  int status = 202;
  std::string body;
};

ApiReply AcceptedReply();
ApiReply InvalidRequestIdReply();
ApiReply InvalidStateTransitionReply(ApiState from, std::string_view to);
ApiReply PayloadTooLargeReply();
ApiReply ContainerErrorReply(std::string_view message);  // 500: the runtime should exit

// How a POST ended the current invocation, if it did.
enum class Completion { kNone, kResponse, kError, kResponseTooLarge, kInitError };

class RuntimeApiState {
 public:
  ApiState state() const { return state_; }
  // An invocation was assigned but not delivered yet (it waits for the runtime's next GET /next).
  bool has_pending() const { return pending_; }
  // The last delivered request id (or the pending one).
  const std::string& request_id() const { return request_id_; }

  // True when the instance may take an invocation: alive, nothing assigned or in flight.
  bool CanAssign() const;

  // The pool assigns an invocation. Returns true when a /next is parked, i.e. the event must be
  // written to the runtime now (the state is then kInvoking). REQUIRES: CanAssign()
  bool Assign(std::string request_id);

  // GET /next.
  enum class NextKind { kDeliver, kPark, kReject };
  struct NextResult {
    NextKind kind = NextKind::kPark;
    bool init_done = false;  // this was the first /next: the init phase ended
    ApiReply reply;          // kReject only
  };
  NextResult OnNext();

  // POST /invocation/{id}/response with a body of `body_size` bytes.
  struct PostResult {
    ApiReply reply;
    Completion completion = Completion::kNone;
  };
  PostResult OnResponse(std::string_view request_id, size_t body_size);
  // POST /invocation/{id}/error.
  PostResult OnError(std::string_view request_id);
  // POST /init/error.
  PostResult OnInitError();

  // A delivered event did not reach the runtime (its /next connection was gone): the invocation
  // becomes pending again. REQUIRES: state() == kInvoking.
  void Undeliverable();

 private:
  PostResult OnAnswer(std::string_view request_id, std::string_view to, Completion completion);

  ApiState state_ = ApiState::kInitializing;
  bool pending_ = false;
  std::string request_id_;
};

}  // namespace cutover::runtime
