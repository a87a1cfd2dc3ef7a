#include "core/process_memory.h"

#include <fstream>
#include <string>

namespace attn {

namespace {

// "VmRSS:     12345 kB" -> bytes.
double status_field(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string k;
  double kb = 0;
  std::string line;
  while (in >> k) {
    if (k == key) {
      in >> kb;
      return kb * 1024;
    }
    std::getline(in, line);
  }
  return 0;
}

}  // namespace

double resident_bytes() {
  return status_field("VmRSS:");
}
double peak_resident_bytes() {
  return status_field("VmHWM:");
}

bool reset_peak_resident() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace attn
