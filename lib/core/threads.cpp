#include "core/threads.h"

#include <cblas.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace attn {

namespace {

// One step of a busy wait: tells the core that this is a spin loop (frees resources for the
// other hyperthread, avoids a pipeline flush on exit).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls ready() for up to `budget`, then returns whether it became true.
template <class Ready>
bool spin_until(Ready ready, std::chrono::microseconds budget) {
  const auto until = std::chrono::steady_clock::now() + budget;
  for (unsigned i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) return ready();
  }
}

// How long a worker polls for the next job before it sleeps, and how long the caller polls for
// the workers to finish before it sleeps. A training step's parallel regions (its GEMMs'
// halves, element-wise passes, attention) follow each other within microseconds: a worker
// woken through the kernel for each would pay a futex wake-up per region, an exit to the
// hypervisor on a virtual machine. Polling past the gaps keeps it awake; after the budget it
// sleeps, so an idle or single-threaded phase (reading data, decoding one sentence on one
// thread) does not keep a core busy.
constexpr std::chrono::microseconds worker_poll{300}, caller_poll{100};

// A fixed pool of (threads() - 1) workers; the calling thread runs chunk 0 itself.
// One job at a time: parallel_for is called from the single training/decoding thread.
class pool {
 public:
  ~pool() { stop(); }

  void resize(int workers) {
    stop();
    quit_.store(false);
    const std::uint64_t now = generation_.load();
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i, now] { loop(i + 1, now); });
  }
  int size() const { return static_cast<int>(workers_.size()); }

  // Runs job(chunk) for chunk in [0, chunks) with chunk 0 on the caller.
  void run(int chunks, const std::function<void(int)>& job) {
    job_ = &job;
    chunks_ = chunks;
    pending_.store(size());    // every worker checks in, with a chunk or without
    generation_.fetch_add(1);  // publishes job_ and chunks_ (seq_cst: see wake_sleepers)
    wake_sleepers();
    job(0);
    if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; }, caller_poll)) {
      std::unique_lock<std::mutex> lock(mu_);
      caller_waits_.store(true);
      done_cv_.wait(lock, [this] { return pending_.load() == 0; });
      caller_waits_.store(false);
    }
    job_ = nullptr;
  }

 private:
  // A worker about to sleep counts itself in sleepers_ and then re-reads generation_ under the
  // mutex; run() bumps generation_ and then reads sleepers_. Both seq_cst, so at least one of
  // them sees the other's write: no wake-up is lost.
  void wake_sleepers() {
    if (sleepers_.load() == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

  void loop(int index, std::uint64_t seen) {
    for (;;) {
      auto fresh = [&] {
        return quit_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
      };
      if (!spin_until(fresh, worker_poll)) {
        sleepers_.fetch_add(1);
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return quit_.load() || generation_.load() != seen; });
        sleepers_.fetch_sub(1);
      }
      if (quit_.load()) return;
      seen = generation_.load();
      if (index < chunks_) (*job_)(index);
      if (pending_.fetch_sub(1) == 1 && caller_waits_.load()) {
        std::lock_guard<std::mutex> lock(mu_);
        done_cv_.notify_one();
      }
    }
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_.store(true);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  int chunks_ = 0;
  std::atomic<int> pending_{0}, sleepers_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> quit_{false}, caller_waits_{false};
};

}  // namespace

int available_cores() {
  cpu_set_t set;  // the cores this process may run on (taskset, cgroups), not all the machine's
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

namespace {

// attn runs every parallel region on its own pool, BLAS products included (gemm() splits a
// large product into one single-threaded OpenBLAS call per thread): OpenBLAS itself stays at
// one thread, so its workers never poll for work beside attn's (three busy threads on two cores).
int& thread_count() {
  static int n = [] {
    const int cores = std::max(1, openblas_get_num_threads());
    openblas_set_num_threads(1);
    return cores;
  }();
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
  return n;
}

int threads() { return thread_count(); }

int thread_index() { return this_thread_index; }

bool in_parallel_region() {
  return in_parallel;
}

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
  p.run(static_cast<int>(chunks), job);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace attn
