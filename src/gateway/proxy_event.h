// API Gateway Lambda-proxy mapping, both directions, as pure functions.
//
// BuildEventV1 / BuildEventV2 turn an HTTP request plus its matched route into the event a function
// receives (payload format 1.0 for `http` events, 2.0 for `httpApi`). MapResponseV1 / MapResponseV2 turn the
// function's result into the HTTP response API Gateway would send, or a Status when the result is malformed
// (the gateway answers 502). Golden-JSON tests live in tests/gateway.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "router/route_table.h"

namespace cutover::gateway {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ProxyRequest {
  std::string method;         // "GET"
  std::string path;           // raw path, percent-encoding kept, without the query ("/users/a%20b")
  std::string raw_query;      // after '?', without it; empty if none
  HeaderList headers;         // in arrival order, names as received
  std::string body;           // raw bytes
  std::string source_ip;      // client address
  std::string request_id;     // our id for requestContext.requestId
  int64_t request_time_ms = 0;  // epoch ms when the request arrived
};

struct RouteInfo {
  const router::RouteSpec* route = nullptr;  // the matched route (its method/path template, target)
  std::vector<std::pair<std::string, std::string>> path_params;
  std::string stage;   // "dev"
  std::string api_id;  // a stable id for requestContext.apiId
  std::string domain_name;  // the Host header, or "localhost"
};

// Format 1.0: resource, path (no stage prefix), httpMethod, headers (last value wins),
// multiValueHeaders, queryStringParameters, multiValueQueryStringParameters, pathParameters,
// stageVariables (null), requestContext (path with the stage prefix, requestTimeEpoch, identity.sourceIp,
// ...), body, isBase64Encoded. Absent maps are null. Bodies that are not valid UTF-8 are base64-encoded.
std::string BuildEventV1(const ProxyRequest& request, const RouteInfo& route);

// Format 2.0: version, routeKey, rawPath, rawQueryString, cookies, headers (lower-cased, duplicates joined
// with ","), queryStringParameters (joined with ","), requestContext.http{...}, body, pathParameters,
// isBase64Encoded.
std::string BuildEventV2(const ProxyRequest& request, const RouteInfo& route);

// Only event.requestContext of format 1.0 or 2.0 (the gateway's php-fpm path sends it as Bref's
// LAMBDA_REQUEST_CONTEXT). `request.body` is not read.
std::string BuildRequestContext(const ProxyRequest& request, const RouteInfo& route, bool v2);

struct ProxyResponse {
  int status = 200;
  HeaderList headers;  // set-cookie may repeat
  std::string body;    // decoded bytes
};

// Format 1.0 response: {statusCode, headers, multiValueHeaders, body, isBase64Encoded}; for the same key,
// multiValueHeaders wins. Anything else (not an object, no or bad statusCode, bad types, bad base64) is
// InvalidArgument: the gateway logs "Malformed Lambda proxy response" and answers 502.
Result<ProxyResponse> MapResponseV1(std::string_view payload);

// Format 2.0 response: as 1.0 plus `cookies` (one set-cookie each); valid JSON without `statusCode` is
// wrapped as 200 application/json with the JSON text as body (a JSON string becomes its contents).
Result<ProxyResponse> MapResponseV2(std::string_view payload);

// Checks that a mapped response can go on the wire as HTTP/1.1 without breaking framing: a final
// status (200-599; 1xx is refused), header names that are RFC 9110 tokens and values without CR, LF
// or NUL (no response splitting). InvalidArgument otherwise: the gateway answers 502.
Status CheckSendable(const ProxyResponse& response);

}  // namespace cutover::gateway
