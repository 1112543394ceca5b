# The handler sourced by ./bootstrap. `handler EVENT_JSON` prints an API Gateway (payload 1.0)
# proxy response: a JSON object with statusCode, headers and body, where body is a string.

# Prints the first string value of KEY in the (single-line) JSON text $1. Enough for this demo;
# a real handler would use jq.
json_string() {
  printf '%s' "$1" | grep -o "\"$2\" *: *\"[^\"]*\"" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'
}

handler() {
  local event="$1"
  local method path
  method="$(json_string "$event" httpMethod)"
  path="$(json_string "$event" path)"

  # The body is itself JSON, carried as a string inside the response: its quotes are escaped.
  local body
  body="$(printf '{"message":"%s","runtime":"provided.al2","method":"%s","path":"%s","version":"%s"}' \
    "${GREETING:-hello}" "$method" "$path" "${AWS_LAMBDA_FUNCTION_VERSION:-\$LATEST}")"
  printf '{"statusCode":200,"headers":{"content-type":"application/json"},"body":"%s"}' \
    "${body//\"/\\\"}"
}
