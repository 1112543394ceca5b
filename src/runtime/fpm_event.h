// Bref's FPM layer for the Invoke API: an API Gateway event (payload format 1.0 or 2.0) becomes
// the HTTP request php-fpm receives, and php-fpm's answer becomes the proxy response the function
// returns (aws-semantics.md 6.2 and 6.3; Bref src/Event/Http/HttpRequestEvent.php and
// HttpResponse.php). The gateway does not use this: it hands php-fpm its HTTP request directly.
//
// Pure functions; reentrant.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/fastcgi_params.h"
#include "runtime/fastcgi_protocol.h"

namespace cutover::runtime {

struct EventHttpRequest {
  fastcgi::FastCgiHttpRequest request;  // task_root, handler and invocation context left empty
  std::string body;                     // decoded (isBase64Encoded)
  bool v2 = false;                      // "version": "2.0"
  bool multi_value_headers = false;     // a 1.0 event with multiValueHeaders: answer with them
};

// Decodes an HTTP event, as Bref does:
//  * method: httpMethod (1.0) or requestContext.http.method (2.0); path: path (1.0, without the
//    stage) or rawPath (2.0);
//  * headers from multiValueHeaders when present, else headers; 2.0 cookies joined into one
//    `cookie` header with "; ";
//  * query: rawQueryString (2.0), else rebuilt from multiValueQueryStringParameters (else
//    queryStringParameters) with RFC 3986 encoding;
//  * body base64-decoded when isBase64Encoded; protocol from requestContext.protocol;
//    LAMBDA_REQUEST_CONTEXT is requestContext as JSON.
// InvalidArgument for anything that is not an HTTP event (Bref: "This handler expected to be
// invoked with a API Gateway or ALB event"), including bad JSON and bad base64.
Result<EventHttpRequest> HttpRequestFromEvent(std::string_view event_json);

// {"warmer": true}: Bref answers "Lambda is warm" without touching php-fpm.
bool IsWarmerEvent(std::string_view event_json);

// The proxy response for `response`: statusCode; header names lower-cased then capitalised per
// word ("content-type" -> "Content-Type"); for 1.0 `multiValueHeaders` when the request had them,
// else `headers` where the last value of a repeated header wins; for 2.0 `cookies` from
// Set-Cookie and the other repeated headers joined with ", ". The body is base64-encoded (and
// isBase64Encoded true) only when `binary_responses` (Bref's BREF_BINARY_RESPONSES).
std::string ProxyResponseFromCgi(const fastcgi::CgiResponse& response, bool v2,
                                 bool multi_value_headers, bool binary_responses);

}  // namespace cutover::runtime
