#include "io/parameter_difference.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"

namespace attn {

std::vector<parameter_difference> compare_parameters(const checkpoint& a, const checkpoint& b,
                                                     const std::string& b_name) {
  std::map<std::string, const checkpoint_param*> in_b;
  for (const checkpoint_param& p : b.params) in_b[p.name] = &p;
  if (a.params.size() != b.params.size())
    throw error("'" + b_name + "' holds " + std::to_string(b.params.size()) + " parameter tensors, not " +
                std::to_string(a.params.size()));
  std::vector<parameter_difference> out;
  out.reserve(a.params.size());
  for (const checkpoint_param& pa : a.params) {
    const auto it = in_b.find(pa.name);
    if (it == in_b.end()) throw error("'" + b_name + "' has no parameter '" + pa.name + "'");
    const checkpoint_param& pb = *it->second;
    if (pa.value.shape() != pb.value.shape())
      throw error("parameter '" + pa.name + "' has another shape in '" + b_name + "'");
    parameter_difference d;
    d.name = pa.name;
    double scale = 0;
    const float* x = pa.value.data();
    const float* y = pb.value.data();
    for (std::size_t i = 0, n = pa.value.size(); i < n; ++i) {
      d.max_abs = std::max(d.max_abs, std::fabs(static_cast<double>(x[i]) - static_cast<double>(y[i])));
      scale = std::max(scale, std::fabs(static_cast<double>(x[i])));
    }
    d.max_a = scale;
    d.relative = scale > 0 ? d.max_abs / scale : (d.max_abs > 0 ? INFINITY : 0.0);
    out.push_back(d);
  }
  return out;
}

double overall_relative(const std::vector<parameter_difference>& rows) {
  double diff = 0, scale = 0;
  for (const parameter_difference& r : rows) {
    diff = std::max(diff, r.max_abs);
    scale = std::max(scale, r.max_a);
  }
  return scale > 0 ? diff / scale : (diff > 0 ? INFINITY : 0.0);
}

}  // namespace attn
