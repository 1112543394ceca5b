// The Runtime API state machine as tables: every endpoint in every state, request-id validation, a
// second answer for the same invocation, the payload limit.
#include "runtime/runtime_api_state.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace cutover::runtime {
namespace {

using NextKind = RuntimeApiState::NextKind;

constexpr char kId[] = "8476a536-e9f4-41e8-9739-2dfe598c3fcd";
constexpr char kOtherId[] = "00000000-0000-4000-8000-000000000000";

// Named starting points, each reached through the public API only.
struct StartPoint {
  std::string name;
  std::function<void(RuntimeApiState&)> reach;
  ApiState expected;
  bool pending = false;
};

std::vector<StartPoint> StartPoints() {
  return {
      {"Initializing", [](RuntimeApiState&) {}, ApiState::kInitializing},
      {"InitializingWithPending", [](RuntimeApiState& s) { s.Assign(kId); },
       ApiState::kInitializing, true},
      {"Waiting", [](RuntimeApiState& s) { s.OnNext(); }, ApiState::kWaiting},
      {"Invoking",
       [](RuntimeApiState& s) {
         s.OnNext();
         s.Assign(kId);
       },
       ApiState::kInvoking},
      {"ReadyAfterResponse",
       [](RuntimeApiState& s) {
         s.OnNext();
         s.Assign(kId);
         s.OnResponse(kId, 10);
       },
       ApiState::kReady},
      {"ReadyWithPending",
       [](RuntimeApiState& s) {
         s.OnNext();
         s.Assign(kOtherId);
         s.OnResponse(kOtherId, 10);
         s.Assign(kId);
       },
       ApiState::kReady, true},
      {"WaitingAfterResponse",
       [](RuntimeApiState& s) {
         s.OnNext();
         s.Assign(kId);
         s.OnResponse(kId, 10);
         s.OnNext();
       },
       ApiState::kWaiting},
      {"InitFailed", [](RuntimeApiState& s) { s.OnInitError(); }, ApiState::kInitFailed},
  };
}

RuntimeApiState Reach(const StartPoint& start) {
  RuntimeApiState s;
  start.reach(s);
  EXPECT_EQ(s.state(), start.expected) << start.name;
  EXPECT_EQ(s.has_pending(), start.pending) << start.name;
  return s;
}

TEST(RuntimeApiStateTest, SetupsReachTheirStates) {
  for (const StartPoint& start : StartPoints()) Reach(start);
}

// GET /next in every state.
TEST(RuntimeApiStateTest, NextInEveryState) {
  struct Row {
    std::string setup;
    NextKind kind;
    int reject_status;  // when kReject
    ApiState after;
    bool init_done;
  };
  const std::vector<Row> rows = {
      {"Initializing", NextKind::kPark, 0, ApiState::kWaiting, true},
      {"InitializingWithPending", NextKind::kDeliver, 0, ApiState::kInvoking, true},
      // A second /next while one is parked replaces it (the runtime reconnected).
      {"Waiting", NextKind::kPark, 0, ApiState::kWaiting, false},
      {"Invoking", NextKind::kReject, 403, ApiState::kInvoking, false},
      {"ReadyAfterResponse", NextKind::kPark, 0, ApiState::kWaiting, false},
      {"ReadyWithPending", NextKind::kDeliver, 0, ApiState::kInvoking, false},
      {"WaitingAfterResponse", NextKind::kPark, 0, ApiState::kWaiting, false},
      {"InitFailed", NextKind::kReject, 403, ApiState::kInitFailed, false},
  };
  for (const Row& row : rows) {
    for (const StartPoint& start : StartPoints()) {
      if (start.name != row.setup) continue;
      RuntimeApiState s = Reach(start);
      RuntimeApiState::NextResult r = s.OnNext();
      EXPECT_EQ(r.kind, row.kind) << row.setup;
      EXPECT_EQ(r.init_done, row.init_done) << row.setup;
      EXPECT_EQ(s.state(), row.after) << row.setup;
      EXPECT_FALSE(s.has_pending()) << row.setup;
      if (row.kind == NextKind::kReject) {
        EXPECT_EQ(r.reply.status, row.reject_status) << row.setup;
        EXPECT_NE(r.reply.body.find("\"errorType\":\"InvalidStateTransition\""), std::string::npos)
            << r.reply.body;
        EXPECT_NE(r.reply.body.find("State transition from"), std::string::npos) << r.reply.body;
      }
    }
  }
}

// POST /response, /error and /init/error in every state, with the current id and another one.
TEST(RuntimeApiStateTest, PostsInEveryState) {
  enum class Post { kResponse, kError, kInitError };
  struct Row {
    std::string setup;
    Post post;
    const char* id;  // unused for kInitError
    int status;
    Completion completion;
    ApiState after;
  };
  const std::vector<Row> rows = {
      // Nothing delivered yet: every id is unknown (400), and init errors are accepted.
      {"Initializing", Post::kResponse, kId, 400, Completion::kNone, ApiState::kInitializing},
      {"Initializing", Post::kError, kId, 400, Completion::kNone, ApiState::kInitializing},
      {"Initializing", Post::kInitError, "", 202, Completion::kInitError, ApiState::kInitFailed},
      // Assigned but not delivered: the runtime cannot know the id yet.
      {"InitializingWithPending", Post::kResponse, kId, 400, Completion::kNone,
       ApiState::kInitializing},
      {"InitializingWithPending", Post::kInitError, "", 202, Completion::kInitError,
       ApiState::kInitFailed},
      {"Waiting", Post::kResponse, kId, 400, Completion::kNone, ApiState::kWaiting},
      {"Waiting", Post::kError, kId, 400, Completion::kNone, ApiState::kWaiting},
      {"Waiting", Post::kInitError, "", 403, Completion::kNone, ApiState::kWaiting},
      // Invoking: the current id completes it; another id is 400; init errors are too late.
      {"Invoking", Post::kResponse, kId, 202, Completion::kResponse, ApiState::kReady},
      {"Invoking", Post::kError, kId, 202, Completion::kError, ApiState::kReady},
      {"Invoking", Post::kResponse, kOtherId, 400, Completion::kNone, ApiState::kInvoking},
      {"Invoking", Post::kError, kOtherId, 400, Completion::kNone, ApiState::kInvoking},
      {"Invoking", Post::kInitError, "", 403, Completion::kNone, ApiState::kInvoking},
      // A second answer for the same id: 403; for another id: 400.
      {"ReadyAfterResponse", Post::kResponse, kId, 403, Completion::kNone, ApiState::kReady},
      {"ReadyAfterResponse", Post::kError, kId, 403, Completion::kNone, ApiState::kReady},
      {"ReadyAfterResponse", Post::kResponse, kOtherId, 400, Completion::kNone, ApiState::kReady},
      {"ReadyAfterResponse", Post::kInitError, "", 403, Completion::kNone, ApiState::kReady},
      {"WaitingAfterResponse", Post::kResponse, kId, 403, Completion::kNone, ApiState::kWaiting},
      {"WaitingAfterResponse", Post::kError, kId, 403, Completion::kNone, ApiState::kWaiting},
      // The pending id of ReadyWithPending was never delivered.
      {"ReadyWithPending", Post::kResponse, kId, 400, Completion::kNone, ApiState::kReady},
      {"ReadyWithPending", Post::kError, kOtherId, 400, Completion::kNone, ApiState::kReady},
      {"InitFailed", Post::kResponse, kId, 400, Completion::kNone, ApiState::kInitFailed},
      {"InitFailed", Post::kInitError, "", 403, Completion::kNone, ApiState::kInitFailed},
  };
  for (const Row& row : rows) {
    for (const StartPoint& start : StartPoints()) {
      if (start.name != row.setup) continue;
      RuntimeApiState s = Reach(start);
      RuntimeApiState::PostResult r;
      switch (row.post) {
        case Post::kResponse:
          r = s.OnResponse(row.id, 100);
          break;
        case Post::kError:
          r = s.OnError(row.id);
          break;
        case Post::kInitError:
          r = s.OnInitError();
          break;
      }
      std::string label =
          row.setup + " post " + std::to_string(static_cast<int>(row.post)) + " id " + row.id;
      EXPECT_EQ(r.reply.status, row.status) << label;
      EXPECT_EQ(r.completion, row.completion) << label;
      EXPECT_EQ(s.state(), row.after) << label;
      switch (row.status) {
        case 202:
          EXPECT_EQ(r.reply.body, R"({"status":"OK"})") << label;
          break;
        case 400:
          EXPECT_EQ(r.reply.body,
                    R"({"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"})")
              << label;
          break;
        case 403:
          EXPECT_NE(r.reply.body.find("InvalidStateTransition"), std::string::npos) << label;
          break;
      }
    }
  }
}

TEST(RuntimeApiStateTest, ResponseOverTheLimitIs413AndEndsTheInvocation) {
  RuntimeApiState s;
  s.OnNext();
  ASSERT_TRUE(s.Assign(kId));
  RuntimeApiState::PostResult r = s.OnResponse(kId, kMaxPayloadBytes + 1);
  EXPECT_EQ(r.reply.status, 413);
  EXPECT_NE(r.reply.body.find("RequestEntityTooLarge"), std::string::npos);
  EXPECT_EQ(r.completion, Completion::kResponseTooLarge);
  EXPECT_EQ(s.state(), ApiState::kReady);
  // The runtime may then try /error for the same id: the invocation is over.
  EXPECT_EQ(s.OnError(kId).reply.status, 403);
}

TEST(RuntimeApiStateTest, ResponseExactlyAtTheLimitIsAccepted) {
  RuntimeApiState s;
  s.OnNext();
  s.Assign(kId);
  RuntimeApiState::PostResult r = s.OnResponse(kId, kMaxPayloadBytes);
  EXPECT_EQ(r.reply.status, 202);
  EXPECT_EQ(r.completion, Completion::kResponse);
}

TEST(RuntimeApiStateTest, AssignDeliversOnlyToAParkedNext) {
  RuntimeApiState s;
  EXPECT_TRUE(s.CanAssign());
  EXPECT_FALSE(s.Assign(kId));  // initializing: pending until the first /next
  EXPECT_FALSE(s.CanAssign());
  EXPECT_EQ(s.OnNext().kind, NextKind::kDeliver);
  EXPECT_FALSE(s.CanAssign());  // invoking
  s.OnResponse(kId, 1);
  EXPECT_TRUE(s.CanAssign());  // ready, before its next /next
  EXPECT_EQ(s.OnNext().kind, NextKind::kPark);
  EXPECT_TRUE(s.CanAssign());
  EXPECT_TRUE(s.Assign(kOtherId));  // parked: deliver now
  EXPECT_EQ(s.state(), ApiState::kInvoking);
  EXPECT_EQ(s.request_id(), kOtherId);
}

TEST(RuntimeApiStateTest, UndeliverableEventBecomesPendingAgain) {
  RuntimeApiState s;
  s.OnNext();
  ASSERT_TRUE(s.Assign(kId));
  s.Undeliverable();
  EXPECT_EQ(s.state(), ApiState::kReady);
  EXPECT_TRUE(s.has_pending());
  // Its answer cannot come before it is delivered again.
  EXPECT_EQ(s.OnResponse(kId, 1).reply.status, 400);
  EXPECT_EQ(s.OnNext().kind, NextKind::kDeliver);
  EXPECT_EQ(s.OnResponse(kId, 1).reply.status, 202);
}

TEST(RuntimeApiStateTest, InitFailedTakesNoInvocation) {
  RuntimeApiState s;
  s.OnInitError();
  EXPECT_FALSE(s.CanAssign());
}

}  // namespace
}  // namespace cutover::runtime
