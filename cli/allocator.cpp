#include "allocator.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace attn::cli {

namespace {

constexpr int mmap_threshold = 32 << 20;  // glibc's largest allowed value (half its heap size)
constexpr int trim_threshold = 1 << 30;

// The same policy as GLIBC_TUNABLES settings, with huge pages.
std::string tunables() {
  return "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=" + std::to_string(mmap_threshold) +
         ":glibc.malloc.trim_threshold=" + std::to_string(trim_threshold);
}

}  // namespace

bool set_malloc_policy(char** argv) {
  const char* choice = std::getenv("ATTN_MALLOC");
  if (choice != nullptr && std::strcmp(choice, "glibc") == 0) return false;
  const char* given = std::getenv("GLIBC_TUNABLES");
  // The user's malloc settings, or this function's own after the re-execution: nothing to do.
  if (given != nullptr && std::strstr(given, "glibc.malloc.") != nullptr) return false;
  // Not re-executed yet (ATTN_MALLOC=hugepages marks the second start: never a third, whatever
  // became of GLIBC_TUNABLES on the way).
  if (!(choice != nullptr && std::strcmp(choice, "hugepages") == 0) && argv != nullptr && argv[0] != nullptr) {
    const std::string before = given != nullptr ? given : "";
    const std::string wanted = before.empty() ? tunables() : before + ":" + tunables();
    if (::setenv("GLIBC_TUNABLES", wanted.c_str(), 1) == 0 && ::setenv("ATTN_MALLOC", "hugepages", 1) == 0)
      ::execv("/proc/self/exe", argv);  // returns only if it failed
    if (given != nullptr)
      ::setenv("GLIBC_TUNABLES", before.c_str(), 1);
    else
      ::unsetenv("GLIBC_TUNABLES");
    ::unsetenv("ATTN_MALLOC");
  }
  // Setting either turns off glibc's moving threshold: set both, the mmap threshold first.
  return ::mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && ::mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}

}  // namespace attn::cli
