// The Python bootstrap (python_bootstrap.py), compiled into the library so the `cutover` binary
// carries it. CMake generates python_bootstrap_embed.cc from python_bootstrap_embed.cc.in at
// configure time.
//
// Thread-safety: returns a view of a constant.
#pragma once

#include <string_view>

namespace cutover::runtime {

std::string_view EmbeddedPythonBootstrap();

}  // namespace cutover::runtime
