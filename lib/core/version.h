#pragma once
namespace attn {
// The library's version string ("0.1.0"), from the CMake project version.
const char* version();
}  // namespace attn
