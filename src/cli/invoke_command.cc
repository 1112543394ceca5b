// `cutover invoke`: one synchronous call through the Lambda Invoke API.

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <boost/json/parse.hpp>
#include <fstream>
#include <iterator>
#include <memory>
#include <ostream>
#include <sstream>

#include "cli/command_context.h"
#include "cli/json_fields.h"
#include "cli/terminal_text.h"

namespace cutover::cli {
namespace {

// Lambda allows up to 15 minutes per invocation; wait a little longer than that for the answer.
constexpr std::chrono::minutes kInvokeTimeout{16};

struct InvokeFlags {
  ClientFlags client;
  std::string function;
  std::string qualifier;
  std::string data;
  const CLI::Option* data_option = nullptr;  // count() > 0 when --data was given (even empty)
  std::string data_file;
};

Result<std::string> ReadPayload(const Context& context, const InvokeFlags& flags) {
  std::string payload;
  std::string source;
  if (flags.data_option != nullptr && flags.data_option->count() > 0) {
    payload = flags.data;
    source = "--data";
  } else if (!flags.data_file.empty()) {
    source = "--data-file " + flags.data_file;
    if (flags.data_file == "-") {
      if (context.in == nullptr) return InvalidArgument("--data-file -: no standard input");
      payload.assign(std::istreambuf_iterator<char>(*context.in), std::istreambuf_iterator<char>());
    } else {
      std::ifstream file(flags.data_file, std::ios::binary);
      if (!file) return InvalidArgument(fmt::format("{}: cannot read the file", source));
      payload.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
  } else {
    return std::string("{}");
  }
  boost::system::error_code ec;
  boost::json::parse(payload, ec);
  if (ec) return InvalidArgument(fmt::format("{} is not valid JSON: {}", source, ec.message()));
  return payload;
}

Result<HttpResponse> Invoke(const AdminClient& admin, const std::string& function,
                            const std::string& qualifier, const std::string& payload) {
  HttpRequest request;
  request.method = "POST";
  request.target =
      fmt::format("/2015-03-31/functions/{}/invocations", PercentEncode(function, ":"));
  if (!qualifier.empty()) request.target += "?Qualifier=" + PercentEncode(qualifier);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = payload;
  return admin.Send(std::move(request), kInvokeTimeout);
}

bool IsResourceNotFound(const HttpResponse& response) {
  const std::string* type = response.Header("x-amzn-ErrorType");
  return response.status == 404 && type != nullptr &&
         type->starts_with("ResourceNotFoundException");
}

int RunInvoke(Context& context, const InvokeFlags& flags) {
  Result<std::string> payload = ReadPayload(context, flags);
  if (!payload.ok()) return Fail(context, payload.status());
  Result<AdminClient> admin = MakeAdminClient(context, flags.client);
  if (!admin.ok()) return Fail(context, admin.status());

  std::string function = flags.function;
  Result<HttpResponse> response = Invoke(*admin, function, flags.qualifier, *payload);
  if (!response.ok()) return Fail(context, response.status());
  if (IsResourceNotFound(*response)) {
    // Maybe FUNCTION is a key from serverless.yml rather than the deployed name.
    Result<std::string> resolved = ResolveFunctionName(*admin, function);
    if (!resolved.ok() && resolved.status().code() == StatusCode::kInvalidArgument) {
      return Fail(context, resolved.status());
    }
    if (resolved.ok() && *resolved != function) {
      function = *resolved;
      response = Invoke(*admin, function, flags.qualifier, *payload);
      if (!response.ok()) return Fail(context, response.status());
    }
  }
  if (response->status < 200 || response->status >= 300) {
    return Fail(context, ErrorFromResponse(*response));
  }

  const std::string* executed = response->Header("X-Amz-Executed-Version");
  const std::string* function_error = response->Header("X-Amz-Function-Error");
  const int exit_code = function_error != nullptr ? kExitFailed : kExitOk;
  if (flags.client.json) {
    boost::json::object result;
    result["status_code"] = response->status;
    result["function_name"] = function;
    result["executed_version"] = executed != nullptr ? boost::json::value(*executed) : nullptr;
    result["function_error"] =
        function_error != nullptr ? boost::json::value(*function_error) : nullptr;
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(response->body, ec);
    // A payload that is no JSON is kept as a string; bytes that are not UTF-8 would make the
    // document itself no JSON, so they become U+FFFD.
    result["payload"] =
        ec ? boost::json::value(ReplaceInvalidUtf8(response->body)) : std::move(parsed);
    WriteJson(context.out, result);
    return exit_code;
  }

  if (executed != nullptr) context.err << "Executed version: " << *executed << '\n';
  if (function_error != nullptr) context.err << "Function error: " << *function_error << '\n';
  context.err.flush();
  // The payload is whatever the function returned. On a terminal its controls are shown escaped
  // (cli/terminal_text.h), so a response cannot drive the terminal; into a pipe or a file it goes
  // byte for byte, for the program reading it.
  const std::string shown = context.terminal ? EscapeForTerminal(response->body) : response->body;
  context.out << shown;
  if (!shown.empty() && shown.back() != '\n') context.out << '\n';
  context.out.flush();
  return exit_code;
}

}  // namespace

Command AddInvokeCommand(CLI::App& app) {
  auto flags = std::make_shared<InvokeFlags>();
  CLI::App* sub = app.add_subcommand(
      "invoke", "Invoke a function through the Lambda Invoke API and print its answer");
  sub->add_option(
         "FUNCTION", flags->function,
         "Deployed name (service-stage-key), an ARN ending in it, or a unique function key")
      ->required();
  sub->add_option("--qualifier,-q", flags->qualifier,
                  "Version number or alias (default: the "
                  "function's alias, else its newest version)");
  CLI::Option* data = sub->add_option("--data,-d", flags->data, "Event JSON (default: {})");
  CLI::Option* data_file = sub->add_option("--data-file", flags->data_file,
                                           "Read the event JSON from a file ('-' = stdin)");
  data->excludes(data_file);
  flags->data_option = data;
  AddClientFlags(*sub, flags->client, /*with_json=*/true);

  Command command;
  command.app = sub;
  command.run = [flags](Context& context) { return RunInvoke(context, *flags); };
  return command;
}

}  // namespace cutover::cli
