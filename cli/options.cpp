#include "options.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "core/threads.h"

namespace attn::cli {

bool parse(command_line& cl, const args& argv, po::variables_map& vm) {
  int threads = 0;
  cl.options.add_options()
      ("threads", po::value(&threads)->default_value(0), "threads for BLAS and parallel loops (0 = all cores)")
      ("help,h", "show this help");
  try {
    po::store(po::command_line_parser(argv).options(cl.options).positional(cl.positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: " << cl.usage << "\n\n" << cl.options << "\n";
      return false;
    }
    // Boost reads "-1" into an unsigned option as a huge number: refuse it instead.
    for (const auto& [name, v] : vm) {
      const boost::any& a = v.value();
      if (a.type() == typeid(std::size_t) && boost::any_cast<std::size_t>(a) > (std::size_t{1} << 62))
        throw usage_error("--" + name + " must be a non-negative integer, not '" +
                          std::to_string(static_cast<long long>(boost::any_cast<std::size_t>(a))) + "'");
      if (a.type() == typeid(unsigned) && boost::any_cast<unsigned>(a) > (1u << 30))
        throw usage_error("--" + name + " must be a non-negative integer, not '" +
                          std::to_string(static_cast<int>(boost::any_cast<unsigned>(a))) + "'");
    }
    po::notify(vm);
    if (threads < 0) throw usage_error("--threads must be 0 (all cores) or more");
    set_threads(threads);
  } catch (const po::error& e) {
    throw usage_error(std::string(e.what()) + " (see 'attn " + cl.name + " --help')");
  }
  return true;
}

input::input(const std::string& path) : path_(path) {
  if (path == "-") {
    in_ = &std::cin;
    return;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw attn::error("cannot read '" + path + "': it is a directory");
  file_ = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file_) throw attn::error("cannot open '" + path + "': " + std::strerror(errno));
  in_ = file_.get();
}

output::output(const std::string& path) : path_(path) {
  if (path == "-") {
    out_ = &std::cout;
    return;
  }
  file_ = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  if (!*file_) throw attn::error("cannot write '" + path + "': " + std::strerror(errno));
  out_ = file_.get();
}

void output::close() {
  out_->flush();
  if (file_) file_->close();
  if (!*out_) throw attn::error("error writing '" + path_ + "'");
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace attn::cli
