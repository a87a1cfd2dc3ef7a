#include "io/exit_cleanup.h"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace attn {

namespace {

// A slot is claimed (state 1), filled, then published (state 2); the handler reads only 2.
constexpr int max_files = 32;
struct slot {
  std::atomic<int> state{0};
  char path[4096];
};
slot table[max_files];

}  // namespace

int remove_on_exit(const std::string& path) {
  if (path.size() >= sizeof table[0].path) return -1;
  for (int i = 0; i < max_files; ++i) {
    int expected = 0;
    if (!table[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(table[i].path, path.c_str(), path.size() + 1);
    table[i].state.store(2);
    return i;
  }
  return -1;
}

void forget_on_exit(int& handle) {
  if (handle >= 0) table[handle].state.store(0);
  handle = -1;
}

void remove_registered_files() noexcept {
  for (auto& s : table)
    if (s.state.load() == 2) ::unlink(s.path);
}

}  // namespace attn
