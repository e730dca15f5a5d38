// Catch, carry, rethrow: the one way exceptions cross an OpenMP region or a worker thread.
//
// An exception that leaves an OpenMP parallel region (or a std::thread) calls
// std::terminate and kills the Python interpreter. So code inside a region that can throw
// (scratch allocation: std::bad_alloc) runs under ParallelErrors::run, which keeps the
// first exception; after the region the calling thread calls rethrow(), and pybind11 turns
// it into a Python exception (std::bad_alloc -> MemoryError).
//
// A region whose threads meet at a worksharing construct (`omp for`) must let every
// thread reach it or none: allocate under run(), then `#pragma omp barrier`, then skip the
// work on every thread alike when failed() — see conv2d_direct.cpp for the pattern.
#pragma once

#include <atomic>
#include <exception>

namespace sinapse {

class ParallelErrors {
 public:
  ParallelErrors() = default;
  ParallelErrors(const ParallelErrors&) = delete;
  ParallelErrors& operator=(const ParallelErrors&) = delete;

  // Runs f() on this thread; any exception is caught (the first one kept). Returns false
  // when f threw.
  template <class F>
  bool run(F&& f) noexcept {
    try {
      f();
      return true;
    } catch (...) {
      keep(std::current_exception());
      return false;
    }
  }

  // Whether some thread's run() caught an exception (consistent across the team after a barrier).
  bool failed() const noexcept { return claimed_.load(std::memory_order_acquire); }

  // On the calling thread, after the region: rethrows the first exception caught, if any.
  void rethrow() const {
    if (stored_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
  }

 private:
  void keep(std::exception_ptr e) noexcept {
    bool expected = false;
    if (claimed_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      error_ = e;  // only the first thread to claim writes it
      stored_.store(true, std::memory_order_release);
    }
  }

  std::atomic<bool> claimed_{false}, stored_{false};
  std::exception_ptr error_;
};

}  // namespace sinapse
