#include "allocator.h"

#include <malloc.h>

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

bool is(const char* value, const char* expected) {
  return value != nullptr && std::strcmp(value, expected) == 0;
}

// ATTN_MALLOC=glibc, or the user's own glibc.malloc.* tunables (or attn's, once re-executed).
bool malloc_chosen_by_environment() {
  const char* given = std::getenv("GLIBC_TUNABLES");
  return is(std::getenv("ATTN_MALLOC"), "glibc") ||
         (given != nullptr && std::strstr(given, "glibc.malloc.") != nullptr);
}

}  // namespace

std::vector<environment_setting> malloc_settings_for_start() {
  // ATTN_MALLOC=hugepages marks the second start: never a third, whatever became of
  // GLIBC_TUNABLES on the way.
  if (malloc_chosen_by_environment() || is(std::getenv("ATTN_MALLOC"), "hugepages")) return {};
  const char* given = std::getenv("GLIBC_TUNABLES");
  const std::string before = given != nullptr ? given : "";
  return {{"GLIBC_TUNABLES", before.empty() ? tunables() : before + ":" + tunables()}, {"ATTN_MALLOC", "hugepages"}};
}

bool set_malloc_policy() {
  if (malloc_chosen_by_environment()) return false;
  // Setting either turns off glibc's moving threshold: set both, the mmap threshold first.
  return ::mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && ::mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}

}  // namespace attn::cli
