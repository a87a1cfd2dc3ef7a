#include "startup.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

#include "allocator.h"

namespace attn::cli {

void prepare_process(char** argv) {
  const std::vector<environment_setting> wanted = malloc_settings_for_start();
  if (!wanted.empty() && argv != nullptr && argv[0] != nullptr) {
    std::vector<std::pair<std::string, std::optional<std::string>>> before;
    bool all_set = true;
    for (const environment_setting& s : wanted) {
      const char* old = std::getenv(s.name.c_str());
      before.emplace_back(s.name, old != nullptr ? std::optional<std::string>(old) : std::nullopt);
      all_set = ::setenv(s.name.c_str(), s.value.c_str(), 1) == 0 && all_set;
    }
    if (all_set) ::execv("/proc/self/exe", argv);  // returns only if it failed
    for (const auto& [name, value] : before)
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
  }
  set_malloc_policy();  // mallopt, when GLIBC_TUNABLES do not carry attn's policy
}

}  // namespace attn::cli
