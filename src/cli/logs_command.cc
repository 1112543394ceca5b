// `cutover logs`: a function's log (START / END / REPORT lines and its own output), once or
// followed.
//
// Following polls GET /v1/functions/{name}/logs?version=V&offset=O every 500 ms; the daemon answers
// the bytes from O on and the new end offset in X-Log-Offset.
//
// The text is the function's own output among the platform's lines, so every byte of it may come
// from the function: it is printed through EscapeForTerminal (cli/terminal_text.h), so that a
// carriage return, backspace or escape sequence cannot overwrite earlier lines, fake a platform
// line over the function's own, or drive the terminal. `--json` hands the text over as it is
// (JSON escapes C0 controls itself), except that bytes which are not UTF-8 become U+FFFD.

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <charconv>
#include <memory>
#include <ostream>

#include "cli/command_context.h"
#include "cli/json_fields.h"
#include "cli/terminal_text.h"

namespace cutover::cli {
namespace {

constexpr std::chrono::milliseconds kPollInterval{500};

struct LogsFlags {
  ClientFlags client;
  std::string function;
  int64_t version = 0;  // 0 = not given
  int64_t tail = -1;    // -1 = not given (the daemon's default)
  bool follow = false;
};

struct LogChunk {
  std::string text;
  std::optional<int64_t> end_offset;  // X-Log-Offset
};

Result<LogChunk> FetchLogs(const AdminClient& admin, const std::string& function, int64_t version,
                           int64_t tail, std::optional<int64_t> offset) {
  std::string target = fmt::format("/v1/functions/{}/logs", PercentEncode(function));
  std::vector<std::string> query;
  if (version > 0) query.push_back(fmt::format("version={}", version));
  if (offset.has_value()) {
    query.push_back(fmt::format("offset={}", *offset));
  } else if (tail >= 0) {
    query.push_back(fmt::format("tail={}", tail));
  }
  if (!query.empty()) target += fmt::format("?{}", fmt::join(query, "&"));
  HttpRequest request;
  request.target = std::move(target);
  CUTOVER_ASSIGN_OR_RETURN(HttpResponse response, admin.Send(std::move(request)));
  if (response.status != 200) return ErrorFromResponse(response);
  LogChunk chunk;
  chunk.text = std::move(response.body);
  if (const std::string* header = response.Header("X-Log-Offset"); header != nullptr) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), value);
    if (ec == std::errc() && end == header->data() + header->size()) chunk.end_offset = value;
  }
  return chunk;
}

// The newest version of `function` from GET /v1/functions/{name}.
Result<int64_t> NewestVersion(const AdminClient& admin, const std::string& function) {
  CUTOVER_ASSIGN_OR_RETURN(
      boost::json::value info,
      admin.Call("GET", fmt::format("/v1/functions/{}", PercentEncode(function))));
  const boost::json::object& object = AsObject(info);
  int64_t newest = GetInt(object, {"latest_version"});
  for (const boost::json::value& v : GetArray(object, {"versions"})) {
    const int64_t n =
        v.is_object() ? GetInt(v.get_object(), {"version"}) : (v.is_int64() ? v.get_int64() : 0);
    newest = std::max(newest, n);
  }
  if (newest <= 0) return NotFound(fmt::format("function {} has no versions yet", function));
  return newest;
}

int RunLogs(Context& context, const LogsFlags& flags) {
  if (flags.follow && flags.client.json) {
    return Fail(context, InvalidArgument("--json cannot be combined with --follow"));
  }
  Result<AdminClient> admin = MakeAdminClient(context, flags.client);
  if (!admin.ok()) return Fail(context, admin.status());

  std::string function = flags.function;
  int64_t version = flags.version;
  // The first request that names the function; on NotFound, FUNCTION may be a serverless.yml key.
  auto first = [&]() -> Result<LogChunk> {
    if (flags.follow && version == 0) {
      CUTOVER_ASSIGN_OR_RETURN(version, NewestVersion(*admin, function));
    }
    return FetchLogs(*admin, function, version, flags.tail, std::nullopt);
  };
  Result<LogChunk> chunk = first();
  if (!chunk.ok() && chunk.status().code() == StatusCode::kNotFound) {
    Result<std::string> resolved = ResolveFunctionName(*admin, function);
    if (!resolved.ok() && resolved.status().code() == StatusCode::kInvalidArgument) {
      return Fail(context, resolved.status());
    }
    if (resolved.ok() && *resolved != function) {
      function = *resolved;
      chunk = first();
    }
  }
  if (!chunk.ok()) return Fail(context, chunk.status());

  if (flags.client.json) {
    boost::json::object result;
    result["function_name"] = function;
    result["version"] = version > 0 ? boost::json::value(version) : nullptr;
    result["end_offset"] =
        chunk->end_offset.has_value() ? boost::json::value(*chunk->end_offset) : nullptr;
    result["text"] = ReplaceInvalidUtf8(chunk->text);  // else the document is not JSON
    WriteJson(context.out, result);
    return kExitOk;
  }
  // The daemon hands out whole lines, so no UTF-8 sequence is cut between two chunks.
  context.out << EscapeForTerminal(chunk->text);
  context.out.flush();
  if (!flags.follow) return kExitOk;

  if (!chunk->end_offset.has_value()) {
    return Fail(context, Internal("the daemon sent no X-Log-Offset header, so its log cannot be "
                                  "followed (is it older than this CLI?)"));
  }
  context.err << fmt::format("Following {} version {} (Ctrl-C to stop)\n", function, version);
  context.err.flush();
  int64_t offset = *chunk->end_offset;
  while (context.wait(kPollInterval)) {
    Result<LogChunk> next = FetchLogs(*admin, function, version, -1, offset);
    if (!next.ok()) return Fail(context, next.status());
    context.out << EscapeForTerminal(next->text);
    context.out.flush();
    offset = next->end_offset.value_or(offset + static_cast<int64_t>(next->text.size()));
  }
  return kExitOk;
}

}  // namespace

Command AddLogsCommand(CLI::App& app) {
  auto flags = std::make_shared<LogsFlags>();
  CLI::App* sub =
      app.add_subcommand("logs", "Print a function's log, with START / END / REPORT lines");
  sub->add_option("FUNCTION", flags->function, "Deployed name or a unique function key")
      ->required();
  sub->add_option("--version,-v", flags->version,
                  "Only this version (default: the daemon's choice; "
                  "with --follow, the newest version)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--tail", flags->tail,
                  "Only the last BYTES bytes (default: the daemon's, 64 KiB)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--follow,-f", flags->follow,
                "Keep printing new lines every 500 ms until interrupted");
  AddClientFlags(*sub, flags->client, /*with_json=*/true);

  Command command;
  command.app = sub;
  command.run = [flags](Context& context) { return RunLogs(context, *flags); };
  return command;
}

}  // namespace cutover::cli
