#include "allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace attn::cli {

bool keep_freed_memory() {
  const char* choice = std::getenv("ATTN_MALLOC");
  if (choice != nullptr && std::strcmp(choice, "glibc") == 0) return false;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return false;
  constexpr int mmap_threshold = 32 << 20;  // glibc's largest allowed value (half its heap size)
  constexpr int trim_threshold = 1 << 30;
  // Setting either turns off glibc's moving threshold: set both, the mmap threshold first.
  return ::mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && ::mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}

}  // namespace attn::cli
