#include "core/parameter.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/error.h"
#include "core/threads.h"

namespace attn {

parameter& parameter_store::add(const std::string& name, std::size_t rows, std::size_t cols, bool decay) {
  if (index_.count(name)) throw error("parameter '" + name + "' defined twice");
  params_.push_back(parameter{});
  parameter& p = params_.back();
  p.name = name;
  p.value = matrix::from_shape({rows, cols});
  p.value.fill(0.0f);
  p.decay = decay;
  index_[name] = params_.size() - 1;
  return p;
}

parameter* parameter_store::find(const std::string& name) {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

const parameter* parameter_store::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

parameter& parameter_store::at(const std::string& name) {
  parameter* p = find(name);
  if (!p) throw error("no parameter named '" + name + "'");
  return *p;
}

std::vector<parameter*> parameter_store::all() {
  std::vector<parameter*> out;
  out.reserve(params_.size());
  for (auto& p : params_) out.push_back(&p);
  return out;
}

std::vector<const parameter*> parameter_store::all() const {
  std::vector<const parameter*> out;
  out.reserve(params_.size());
  for (const auto& p : params_) out.push_back(&p);
  return out;
}

std::size_t parameter_store::element_count() const {
  std::size_t n = 0;
  for (const auto& p : params_) n += p.value.size();
  return n;
}

void parameter_store::zero_grad() {
  // The gradients to clear, numbered end to end: one parallel region fills them all (tens of
  // megabytes a step, one core does not saturate the memory bus), whatever their sizes.
  std::vector<float*> data;
  std::vector<std::size_t> end;  // end[i]: elements up to and including gradient i
  std::size_t total = 0;
  for (auto& p : params_) {
    if (!p.trainable) {  // frozen: no gradient is kept (the tape writes none)
      if (p.grad.size() != 0) p.grad = matrix{};
      continue;
    }
    if (p.grad.shape() != p.value.shape()) p.grad = matrix::from_shape(p.value.shape());
    data.push_back(p.grad.data());
    end.push_back(total += p.grad.size());
  }
  parallel_for(total, std::size_t{1} << 16, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = std::upper_bound(end.begin(), end.end(), b) - end.begin(); b < e; ++i) {
      const std::size_t first = i == 0 ? 0 : end[i - 1];  // gradient i's first element
      const std::size_t stop = std::min(e, end[i]);
      std::fill(data[i] + (b - first), data[i] + (stop - first), 0.0f);
      b = stop;
    }
  });
}

// "encoder.layers.0.attn.q.weight" -> "encoder.layers.0"; "embed.weight" -> "embed".
std::string parameter_module(const std::string& name) {
  std::string out;
  std::istringstream parts(name);
  std::string part;
  std::vector<std::string> all;
  while (std::getline(parts, part, '.')) all.push_back(part);
  for (std::size_t i = 0; i + 1 < all.size(); ++i) {
    out += (i ? "." : "") + all[i];
    bool numeric = !all[i].empty();
    for (char c : all[i]) numeric &= std::isdigit(static_cast<unsigned char>(c)) != 0;
    if (numeric) break;
    if (i == 0 && !(all.size() > 2 && i + 2 < all.size())) break;
  }
  return out.empty() ? name : out;
}

}  // namespace attn
