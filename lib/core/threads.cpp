#include "core/threads.h"

#include <cblas.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace attn {

namespace {

// A fixed pool of (threads() - 1) workers; the calling thread runs chunk 0 itself.
// One job at a time: parallel_for is called from the single training/decoding thread.
class pool {
 public:
  ~pool() { stop(); }

  void resize(int workers) {
    stop();
    quit_ = false;
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i] { loop(i + 1); });
  }
  int size() const { return static_cast<int>(workers_.size()); }

  // Runs job(chunk) for chunk in [0, chunks) with chunk 0 on the caller.
  void run(int chunks, const std::function<void(int)>& job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job;
      chunks_ = chunks;
      pending_ = chunks - 1;
      ++generation_;
    }
    cv_.notify_all();
    job(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void loop(int index) {
    std::uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      int chunks;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        job = job_;
        chunks = chunks_;
      }
      if (index < chunks) {
        (*job)(index);
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  int chunks_ = 0, pending_ = 0;
  std::uint64_t generation_ = 0;
  bool quit_ = false;
};

}  // namespace

int available_cores() {
  cpu_set_t set;  // the cores this process may run on (taskset, cgroups), not all the machine's
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

namespace {

int& thread_count() {
  static int n = std::max(1, openblas_get_num_threads());
  return n;
}

pool& the_pool() {
  static pool p;
  return p;
}

thread_local bool in_parallel = false;
thread_local int this_thread_index = 0;

}  // namespace

int set_threads(int n) {
  const int cores = available_cores();
  if (n <= 0 || n > cores) n = cores;
  thread_count() = n;
  openblas_set_num_threads(n);
  return n;
}

int threads() { return thread_count(); }

int thread_index() { return this_thread_index; }

void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  std::size_t chunks = std::min<std::size_t>(static_cast<std::size_t>(threads()), (n + grain - 1) / grain);
  if (chunks <= 1 || in_parallel) {
    fn(0, n);
    return;
  }
  pool& p = the_pool();
  if (p.size() != threads() - 1) p.resize(threads() - 1);
  std::size_t per = (n + chunks - 1) / chunks;
  std::exception_ptr failure;
  std::mutex failure_mu;
  std::function<void(int)> job = [&](int c) {
    in_parallel = true;
    this_thread_index = c;
    std::size_t b = static_cast<std::size_t>(c) * per;
    std::size_t e = std::min(n, b + per);
    try {
      if (b < e) fn(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mu);
      if (!failure) failure = std::current_exception();
    }
    in_parallel = false;
    this_thread_index = 0;
  };
  openblas_set_num_threads(1);
  p.run(static_cast<int>(chunks), job);
  openblas_set_num_threads(threads());
  if (failure) std::rethrow_exception(failure);
}

}  // namespace attn
