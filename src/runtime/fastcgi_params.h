// The FastCGI parameters Bref's FPM runtime sends php-fpm for an HTTP request
// (aws-semantics.md section 6.2; Bref src/FpmRuntime/FpmHandler.php::eventToFastCgiRequest and
// the FastCGI client library's getParams()).
//
// Pure: a function of its input. The gateway fills a FastCgiHttpRequest from the HTTP request it
// received and its event context; fastcgi_client.h sends the result.
//
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/fastcgi_protocol.h"

namespace cutover::runtime::fastcgi {

struct FastCgiHttpRequest {
  std::string method;     // any case; sent upper-cased
  std::string path;       // "/users/1", no query
  std::string raw_query;  // "a=1&b=2" as received, no '?'; sent as is
  // Header fields in the order received, names as received (matched case-insensitively).
  std::vector<std::pair<std::string, std::string>> headers;
  size_t body_size = 0;               // CONTENT_LENGTH; the body itself goes to STDIN
  std::string task_root;              // LAMBDA_TASK_ROOT, e.g. <data>/code/<sha>
  std::string handler;                // relative to task_root, e.g. "public/index.php"
  std::string protocol = "HTTP/1.1";  // requestContext.protocol
  // SERVER_PORT and REMOTE_PORT when there is no X-Forwarded-Port header (Bref: 80).
  uint16_t default_server_port = 80;
  std::string request_context_json = "{}";     // JSON of event.requestContext
  std::string invocation_context_json = "{}";  // {"awsRequestId":..,"deadlineMs":..,...}
};

// The parameters, each name once, in this order: PATH_INFO, QUERY_STRING,
// LAMBDA_INVOCATION_CONTEXT, LAMBDA_REQUEST_CONTEXT, HTTP_* (in first-seen header order), then the
// standard ones (GATEWAY_INTERFACE FastCGI/1.0, REQUEST_METHOD, REQUEST_URI, SCRIPT_FILENAME,
// SCRIPT_NAME, DOCUMENT_ROOT, SERVER_SOFTWARE bref, REMOTE_ADDR 127.0.0.1, REMOTE_PORT,
// SERVER_ADDR 127.0.0.1, SERVER_PORT, SERVER_NAME, SERVER_PROTOCOL, CONTENT_TYPE,
// CONTENT_LENGTH).
//
// As in Bref: every header becomes HTTP_<NAME> (upper-cased, '-' -> '_'), Content-Type and
// Content-Length included, and for a repeated header the last value wins; SERVER_NAME is the
// first Host value or "localhost"; SERVER_PORT and REMOTE_PORT the first X-Forwarded-Port value or
// default_server_port; CONTENT_TYPE the first Content-Type value, else
// application/x-www-form-urlencoded when the body is not empty, else empty.
//
// Beyond Bref's table, for front controllers that read them (Symfony's base-URL detection):
// DOCUMENT_ROOT is the directory of SCRIPT_FILENAME and SCRIPT_NAME "/" + its file name, the way
// an nginx `root .../public` site passes them.
Params BuildBrefParams(const FastCgiHttpRequest& request);

// "Content-Type" -> "HTTP_CONTENT_TYPE".
std::string HttpParamName(std::string_view header_name);

}  // namespace cutover::runtime::fastcgi
