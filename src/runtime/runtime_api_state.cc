#include "runtime/runtime_api_state.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <utility>

namespace cutover::runtime {

std::string_view ApiStateName(ApiState state) {
  switch (state) {
    case ApiState::kInitializing:
      return "Initializing";
    case ApiState::kWaiting:
      return "Waiting";
    case ApiState::kInvoking:
      return "Invoking";
    case ApiState::kReady:
      return "Ready";
    case ApiState::kInitFailed:
      return "InitFailed";
  }
  return "Unknown";
}

namespace {

std::string ErrorBody(std::string_view message, std::string_view type) {
  boost::json::object o;
  o["errorMessage"] = message;
  o["errorType"] = type;
  return boost::json::serialize(o);
}

}  // namespace

ApiReply AcceptedReply() { return ApiReply{202, R"({"status":"OK"})"}; }

ApiReply InvalidRequestIdReply() {
  return ApiReply{400, ErrorBody("Invalid request ID", "InvalidRequestID")};
}

ApiReply InvalidStateTransitionReply(ApiState from, std::string_view to) {
  return ApiReply{
      403, ErrorBody(fmt::format("State transition from {} to {} failed for runtime. Error: State "
                                 "transition is not allowed",
                                 ApiStateName(from), to),
                     "InvalidStateTransition")};
}

ApiReply PayloadTooLargeReply() {
  return ApiReply{413, ErrorBody(fmt::format("Exceeded maximum allowed payload size ({} bytes).",
                                             kMaxPayloadBytes),
                                 "RequestEntityTooLarge")};
}

ApiReply ContainerErrorReply(std::string_view message) {
  return ApiReply{500, ErrorBody(message, "Runtime.ContainerError")};
}

bool RuntimeApiState::CanAssign() const {
  return !pending_ && (state_ == ApiState::kInitializing || state_ == ApiState::kWaiting ||
                       state_ == ApiState::kReady);
}

bool RuntimeApiState::Assign(std::string request_id) {
  request_id_ = std::move(request_id);
  if (state_ == ApiState::kWaiting) {
    state_ = ApiState::kInvoking;
    return true;
  }
  pending_ = true;
  return false;
}

RuntimeApiState::NextResult RuntimeApiState::OnNext() {
  NextResult r;
  switch (state_) {
    case ApiState::kInitializing:
    case ApiState::kReady:
      r.init_done = state_ == ApiState::kInitializing;
      if (pending_) {
        pending_ = false;
        state_ = ApiState::kInvoking;
        r.kind = NextKind::kDeliver;
      } else {
        state_ = ApiState::kWaiting;
        r.kind = NextKind::kPark;
      }
      return r;
    case ApiState::kWaiting:
      // The runtime asked again while a /next was parked: it reconnected. The new request replaces
      // the old one (RIE answers 403 here, but a runtime whose first connection died would then be
      // stuck).
      r.kind = NextKind::kPark;
      return r;
    case ApiState::kInvoking:
    case ApiState::kInitFailed:
      r.kind = NextKind::kReject;
      r.reply = InvalidStateTransitionReply(state_, "InvocationNext");
      return r;
  }
  return r;
}

RuntimeApiState::PostResult RuntimeApiState::OnAnswer(std::string_view request_id,
                                                      std::string_view to, Completion completion) {
  PostResult r;
  // No invocation was ever delivered (or it is still pending): every id is unknown.
  bool delivered = !request_id_.empty() && !pending_;
  if (!delivered || request_id != request_id_) {
    r.reply = InvalidRequestIdReply();
    return r;
  }
  if (state_ != ApiState::kInvoking) {
    r.reply = InvalidStateTransitionReply(state_, to);
    return r;
  }
  state_ = ApiState::kReady;
  r.completion = completion;
  r.reply = completion == Completion::kResponseTooLarge ? PayloadTooLargeReply() : AcceptedReply();
  return r;
}

RuntimeApiState::PostResult RuntimeApiState::OnResponse(std::string_view request_id,
                                                        size_t body_size) {
  return OnAnswer(
      request_id, "InvocationResponse",
      body_size > kMaxPayloadBytes ? Completion::kResponseTooLarge : Completion::kResponse);
}

RuntimeApiState::PostResult RuntimeApiState::OnError(std::string_view request_id) {
  return OnAnswer(request_id, "InvocationErrorResponse", Completion::kError);
}

RuntimeApiState::PostResult RuntimeApiState::OnInitError() {
  PostResult r;
  if (state_ != ApiState::kInitializing) {
    r.reply = InvalidStateTransitionReply(state_, "InitError");
    return r;
  }
  state_ = ApiState::kInitFailed;
  pending_ = false;
  r.completion = Completion::kInitError;
  r.reply = AcceptedReply();
  return r;
}

void RuntimeApiState::Undeliverable() {
  if (state_ != ApiState::kInvoking) return;
  state_ = ApiState::kReady;
  pending_ = true;
}

}  // namespace cutover::runtime
