// Runtime resolution: which kind of process serves a function, from its runtime name and Bref
// layers.
//
// Internal to the config module; pure functions. Bref (bref.sh) ships PHP as Lambda layers on the
// `provided` runtimes: `php-74-fpm` (PHP-FPM behind API Gateway), `php-74` (a PHP function),
// `console` (a console command, with a php-XY layer). A layer is recognised as Bref's when written
// as the variable `${bref:layer.NAME}` (which resolves to BrefLayerMarker(NAME)) or as a literal
// layer ARN whose name is a Bref layer (arn:aws:lambda:us-east-1:209497400698:layer:php-74-fpm:22).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/service_spec.h"

namespace cutover::config {

// Every Bref layer name cutover knows: php-73 .. php-84, each with and without -fpm, and console.
const std::vector<std::string_view>& BrefLayerNames();
bool IsBrefLayerName(std::string_view name);

// What `${bref:layer.NAME}` resolves to: "bref:layer.NAME".
std::string BrefLayerMarker(std::string_view name);

// The Bref layer name behind a marker or a layer ARN ("arn:...:layer:php-74-fpm:22" ->
// "php-74-fpm", "arm-php-82" -> "php-82"); empty when `layer` is not a Bref layer.
std::string BrefLayerFromReference(std::string_view layer);

struct ResolvedRuntime {
  RuntimeKind kind = RuntimeKind::kProvided;
  std::string runtime;  // "provided.al2", "nodejs20.x", "python3.11", "php-74-fpm", "php-82", ...
  std::string php_version;  // "7.4"; empty unless PHP
};

// Resolves `runtime` (the function's, else the provider's) together with the function's layers.
//   provided, provided.al2, provided.al2023 -> kProvided, unless a Bref layer makes it PHP:
//     an FPM layer -> kPhpFpm "php-XY-fpm"; a function layer -> kPhpFunction "php-XY";
//     a function layer plus console -> kPhpFunction "php-XY-console".
//   php-XY-fpm / php-XY / php-XY-console (Bref 2 runtime names) -> the same kinds directly.
//   nodejs18.x, nodejs20.x, nodejs22.x -> kNode; python3.N -> kPython.
// Errors are plain messages (the caller adds the location): an unsupported runtime (naming the
// allowed ones), conflicting Bref layers, a console layer without a PHP layer.
Result<ResolvedRuntime> ResolveRuntime(std::string_view runtime,
                                       const std::vector<std::string>& layers);

// The runtimes ResolveRuntime accepts, for messages.
std::string_view SupportedRuntimesText();

}  // namespace cutover::config
