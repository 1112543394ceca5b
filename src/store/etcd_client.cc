#include "store/etcd_client.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>
#include <memory>

#include "common/base64.h"

namespace cutover::store {
namespace {

namespace json = boost::json;

// The gateway writes int64 fields as JSON strings ("revision": "42") and leaves out fields that
// hold their default (0, false, empty).
Result<int64_t> Int64Field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return int64_t{0};
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (const json::string* s = v->if_string()) {
    int64_t out = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && end == s->data() + s->size()) return out;
  }
  return Internal(fmt::format("etcd answered a {} that is not an integer", name));
}

Result<std::string> BytesField(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return std::string();
  std::string out;
  if (!v->is_string() || !Base64Decode(v->get_string(), &out)) {
    return Internal(fmt::format("etcd answered a {} that is not base64", name));
  }
  return out;
}

Result<int64_t> HeaderRevision(const json::object& answer) {
  const json::value* header = answer.if_contains("header");
  if (header == nullptr || !header->is_object()) {
    return Internal("etcd answered without a header");
  }
  return Int64Field(header->get_object(), "revision");
}

json::string Encoded(std::string_view bytes) { return json::string(Base64Encode(bytes)); }

Result<json::object> ParseAnswer(const std::string& body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Internal(
        fmt::format("etcd answered something that is not a JSON object: {}", body.substr(0, 200)));
  }
  return std::move(v.get_object());
}

}  // namespace

Result<std::unique_ptr<EtcdClient>> EtcdClient::Create(std::string_view endpoints,
                                                       HttpClientOptions options) {
  std::vector<HttpClient> members;
  size_t start = 0;
  while (start <= endpoints.size()) {
    size_t comma = endpoints.find(',', start);
    if (comma == std::string_view::npos) comma = endpoints.size();
    std::string_view one = endpoints.substr(start, comma - start);
    if (one.empty()) {
      return InvalidArgument(fmt::format("'{}': an empty etcd endpoint", endpoints));
    }
    Result<Endpoint> endpoint = ParseEndpoint(one);
    if (!endpoint.ok()) {
      return InvalidArgument(
          fmt::format("etcd endpoint '{}': {}", one, endpoint.status().message()));
    }
    if (!endpoint->base_path.empty()) {
      return InvalidArgument(fmt::format("etcd endpoint '{}': a path is not expected", one));
    }
    members.emplace_back(std::move(*endpoint), options);
    start = comma + 1;
  }
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(members)));
}

std::string EtcdClient::PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  // Increment the last byte that is not 0xff, dropping the ones after it; a prefix of only 0xff
  // bytes (or none) has no end: "\0" means "to the end of the keyspace" to etcd.
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string EtcdClient::Describe() const {
  std::string out;
  for (const HttpClient& m : members_) {
    if (!out.empty()) out += ',';
    out += m.endpoint().Url();
  }
  return out;
}

Result<std::string> EtcdClient::Post(std::string_view path, const std::string& body) const {
  HttpRequest request;
  request.method = "POST";
  request.target = std::string(path);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = body;
  const size_t first = current_.load(std::memory_order_relaxed);
  Status last_failure;
  for (size_t i = 0; i < members_.size(); ++i) {
    const size_t index = (first + i) % members_.size();
    const HttpClient& member = members_[index];
    Result<HttpResponse> response = member.Send(request);
    if (!response.ok()) {
      // Only a connection that could not be made is tried elsewhere: a request that may have
      // reached etcd (a timeout, a broken answer) must not be applied twice.
      last_failure = response.status();
      if (response.status().code() == StatusCode::kUnavailable) continue;
      return Unavailable(
          fmt::format("etcd at {}: {}", member.endpoint().Url(), response.status().message()));
    }
    current_.store(index, std::memory_order_relaxed);
    if (response->status == 200) return std::move(response->body);
    // The gateway's errors: {"error", "message", "code"} with a gRPC code.
    std::string message = response->body.substr(0, 300);
    int64_t code = 0;
    if (Result<json::object> e = ParseAnswer(response->body); e.ok()) {
      if (const json::value* m = e->if_contains("message"); m && m->is_string()) {
        message = std::string(m->get_string());
      }
      if (Result<int64_t> c = Int64Field(*e, "code"); c.ok()) code = *c;
    }
    const std::string where = fmt::format("etcd at {}", member.endpoint().Url());
    // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED, 11 OUT_OF_RANGE (a compacted revision): worth retrying.
    if (code == 14 || code == 4 || code == 11 || response->status == 503) {
      return Unavailable(fmt::format("{}: {}", where, message));
    }
    return Internal(
        fmt::format("{} refused {} (HTTP {}): {}", where, path, response->status, message));
  }
  return Unavailable(
      fmt::format("cannot reach etcd at {} ({})", Describe(), last_failure.message()));
}

Result<EtcdRangeResult> EtcdClient::Range(std::string_view key, std::string_view range_end,
                                          int64_t revision) const {
  json::object request;
  request["key"] = Encoded(key);
  if (!range_end.empty()) request["range_end"] = Encoded(range_end);
  if (revision > 0) request["revision"] = std::to_string(revision);
  CUTOVER_ASSIGN_OR_RETURN(std::string body, Post("/v3/kv/range", json::serialize(request)));
  CUTOVER_ASSIGN_OR_RETURN(json::object answer, ParseAnswer(body));
  EtcdRangeResult out;
  CUTOVER_ASSIGN_OR_RETURN(out.revision, HeaderRevision(answer));
  if (const json::value* kvs = answer.if_contains("kvs")) {
    if (!kvs->is_array()) return Internal("etcd answered kvs that are not an array");
    for (const json::value& item : kvs->get_array()) {
      if (!item.is_object()) return Internal("etcd answered a kv that is not an object");
      const json::object& o = item.get_object();
      EtcdKeyValue kv;
      CUTOVER_ASSIGN_OR_RETURN(kv.key, BytesField(o, "key"));
      CUTOVER_ASSIGN_OR_RETURN(kv.value, BytesField(o, "value"));
      CUTOVER_ASSIGN_OR_RETURN(kv.create_revision, Int64Field(o, "create_revision"));
      CUTOVER_ASSIGN_OR_RETURN(kv.mod_revision, Int64Field(o, "mod_revision"));
      CUTOVER_ASSIGN_OR_RETURN(kv.lease, Int64Field(o, "lease"));
      out.kvs.push_back(std::move(kv));
    }
  }
  return out;
}

Result<EtcdTxnResult> EtcdClient::Txn(const std::vector<EtcdCompareModRevision>& compares,
                                      const std::vector<EtcdWrite>& writes) const {
  json::object request;
  json::array compare;
  for (const EtcdCompareModRevision& c : compares) {
    json::object o;
    o["key"] = Encoded(c.key);
    o["target"] = "MOD";
    o["result"] = "EQUAL";
    o["mod_revision"] = std::to_string(c.mod_revision);
    compare.push_back(std::move(o));
  }
  json::array success;
  for (const EtcdWrite& w : writes) {
    json::object op;
    json::object body;
    body["key"] = Encoded(w.key);
    if (w.value) {
      body["value"] = Encoded(*w.value);
      if (w.lease != 0) body["lease"] = std::to_string(w.lease);
      op["request_put"] = std::move(body);
    } else {
      op["request_delete_range"] = std::move(body);
    }
    success.push_back(std::move(op));
  }
  request["compare"] = std::move(compare);
  request["success"] = std::move(success);
  CUTOVER_ASSIGN_OR_RETURN(std::string body, Post("/v3/kv/txn", json::serialize(request)));
  CUTOVER_ASSIGN_OR_RETURN(json::object answer, ParseAnswer(body));
  EtcdTxnResult out;
  CUTOVER_ASSIGN_OR_RETURN(out.revision, HeaderRevision(answer));
  if (const json::value* s = answer.if_contains("succeeded")) {
    if (!s->is_bool()) return Internal("etcd answered a succeeded that is not a boolean");
    out.succeeded = s->get_bool();
  }
  return out;
}

Result<int64_t> EtcdClient::LeaseGrant(int64_t ttl_seconds) const {
  json::object request{{"TTL", std::to_string(ttl_seconds)}};
  CUTOVER_ASSIGN_OR_RETURN(std::string body, Post("/v3/lease/grant", json::serialize(request)));
  CUTOVER_ASSIGN_OR_RETURN(json::object answer, ParseAnswer(body));
  CUTOVER_ASSIGN_OR_RETURN(int64_t id, Int64Field(answer, "ID"));
  if (id == 0) {
    const json::value* error = answer.if_contains("error");
    return Unavailable(fmt::format(
        "etcd at {} granted no lease: {}", Describe(),
        error && error->is_string() ? std::string(error->get_string()) : body.substr(0, 200)));
  }
  return id;
}

Result<int64_t> EtcdClient::LeaseKeepAlive(int64_t lease) const {
  // The gateway streams keep-alives; one request body carries one, answered by one result.
  json::object request{{"ID", std::to_string(lease)}};
  CUTOVER_ASSIGN_OR_RETURN(std::string body, Post("/v3/lease/keepalive", json::serialize(request)));
  CUTOVER_ASSIGN_OR_RETURN(json::object answer, ParseAnswer(body.substr(0, body.find('\n'))));
  const json::value* result = answer.if_contains("result");
  if (result == nullptr || !result->is_object()) {
    return Unavailable(fmt::format("etcd at {} did not renew lease {}: {}", Describe(), lease,
                                   body.substr(0, 200)));
  }
  return Int64Field(result->get_object(), "TTL");  // absent (0): expired or revoked
}

Status EtcdClient::LeaseRevoke(int64_t lease) const {
  json::object request{{"ID", std::to_string(lease)}};
  return Post("/v3/lease/revoke", json::serialize(request)).status();
}

}  // namespace cutover::store
