// AsyncInvoke / AsyncInvokeHttp: RuntimeService::Invoke and InvokeHttp as Asio asynchronous
// operations.
//
// The runtime calls back on its own thread; this re-posts the result to the caller's executor, so a
// coroutine resumes where it started. With timeout_ms > 0 a timer races the invocation and, when it
// wins, completes with timed_out = true (the invocation itself runs on and its late result is
// dropped).
//
// REQUIRES: the caller's executor is single-threaded (an io_context run by one thread), since the
// timer and the posted result are serialised only by that.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "runtime/runtime_service.h"

namespace cutover::gateway {

// `start(callback)` begins the runtime call; `callback(ResultT)` may run on any thread, once.
template <typename ResultT, typename Start, typename CompletionToken>
auto AsyncRuntimeCall(Start start, int timeout_ms, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(ResultT, bool)>(
      [](auto handler, Start start, int timeout_ms) {
        using Handler = decltype(handler);
        struct State {
          std::optional<Handler> handler;
          std::optional<boost::asio::steady_timer> timer;
        };
        auto executor = boost::asio::get_associated_executor(handler);
        auto state = std::make_shared<State>();
        state->handler.emplace(std::move(handler));
        if (timeout_ms > 0) {
          state->timer.emplace(executor, std::chrono::milliseconds(timeout_ms));
          state->timer->async_wait([state](boost::system::error_code ec) {
            if (ec || !state->handler) return;
            Handler h = std::move(*state->handler);
            state->handler.reset();
            std::move(h)(ResultT{}, true);
          });
        }
        std::move(start)([state, executor](ResultT result) {
          boost::asio::post(executor, [state, result = std::move(result)]() mutable {
            if (!state->handler) return;
            if (state->timer) state->timer->cancel();
            Handler h = std::move(*state->handler);
            state->handler.reset();
            std::move(h)(std::move(result), false);
          });
        });
      },
      token, std::move(start), timeout_ms);
}

template <typename CompletionToken>
auto AsyncInvoke(runtime::RuntimeService& runtime, runtime::VersionKey key,
                 runtime::Invocation invocation, int timeout_ms, CompletionToken&& token) {
  auto start = [&runtime, key = std::move(key),
                invocation = std::move(invocation)](runtime::InvokeCallback done) mutable {
    runtime.Invoke(key, std::move(invocation), std::move(done));
  };
  return AsyncRuntimeCall<runtime::InvokeResult>(std::move(start), timeout_ms,
                                                 std::forward<CompletionToken>(token));
}

template <typename CompletionToken>
auto AsyncInvokeHttp(runtime::RuntimeService& runtime, runtime::VersionKey key,
                     runtime::HttpInvocation invocation, int timeout_ms,
                     CompletionToken&& token) {
  auto start = [&runtime, key = std::move(key),
                invocation = std::move(invocation)](runtime::HttpCallback done) mutable {
    runtime.InvokeHttp(key, std::move(invocation), std::move(done));
  };
  return AsyncRuntimeCall<runtime::HttpResult>(std::move(start), timeout_ms,
                                               std::forward<CompletionToken>(token));
}

}  // namespace cutover::gateway
