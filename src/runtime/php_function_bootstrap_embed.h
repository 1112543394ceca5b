// The PHP function-runtime bootstrap (php_function_bootstrap.php: Bref's function and console
// layers), compiled into the library so the `cutover` binary carries it. CMake generates
// php_function_bootstrap_embed.cc from php_function_bootstrap_embed.cc.in at configure time.
//
// Thread-safety: returns a view of a constant.
#pragma once

#include <string_view>

namespace cutover::runtime {

std::string_view EmbeddedPhpFunctionBootstrap();

}  // namespace cutover::runtime
