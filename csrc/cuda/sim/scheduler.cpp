// The scheduler: a launch runs its blocks in parallel on OpenMP threads; each block's CUDA
// threads are fibers (fiber.cpp) that the block's OS thread resumes in rounds, in a fresh
// seeded random order each round, until all are done, one fails, or a round makes no progress
// (a deadlock). Also the simulator's settings and the launch record.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../../common/parallel_errors.h"
#include "../../common/threading.h"
#include "../test_switches.cuh"
#include "profiler.h"
#include "runtime.h"

namespace sinapse::sim {

namespace internal {

thread_local Worker tls;

[[noreturn]] void fail(const std::string& what) { throw KernelError(what); }

std::string where(const ThreadState& t) {
  return "block (" + std::to_string(t.block_idx.x) + ", " + std::to_string(t.block_idx.y) + ", " +
         std::to_string(t.block_idx.z) + ") thread (" + std::to_string(t.thread_idx.x) + ", " +
         std::to_string(t.thread_idx.y) + ", " + std::to_string(t.thread_idx.z) + ")";
}

namespace {

size_t g_stack_bytes = 128 * 1024;
std::atomic<bool> g_racecheck{false};
std::atomic<uint64_t> g_seed{12345};
std::mutex g_last_mutex;
std::string g_last_launch;

uint64_t next_random() {  // xorshift64*
  uint64_t x = tls.rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  tls.rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

// One round: every fiber not waiting at a barrier resumed once, in a fresh random order.
void run_round(Block& b, std::vector<int>& order) {
  const int n = static_cast<int>(order.size());
  for (int i = n - 1; i > 0; --i) std::swap(order[i], order[next_random() % (i + 1)]);
  for (int idx : order) {
    Fiber& f = b.fibers[idx];
    if (f.state == FiberState::at_barrier || f.state == FiberState::done) continue;
    tls.fiber = &f;
    tls.in_fiber = 1;
    profile::on_switch(idx);
    sinapse_sim_switch(&tls.scheduler_sp, f.sp);
    profile::off_fiber();
    tls.in_fiber = 0;
    if (b.failed) return;
  }
}

// A fresh block: its fibers, warps, poisoned shared memory and race-check shadow.
void reset_block(Block& b, int n, size_t dynamic_shared, const std::function<void()>& body) {
  b.fibers.assign(n, Fiber{});
  b.warps.assign((n + 31) / 32, Warp{});
  b.live = n;
  b.at_barrier = 0;
  b.body = &body;
  b.failed = false;
  b.error.clear();
  b.dynamic_bytes = (dynamic_shared + 15) / 16 * 16;
  b.arena.assign(b.dynamic_bytes + kStaticSharedLimit, 0xFF);  // poison: NaN floats, -1 ints
  b.used = b.dynamic_bytes;
  b.statics.clear();
  b.shadow.assign(g_racecheck ? b.arena.size() / 4 : 0, Block::Shadow{});
}

// Every fiber's indices, and a stack laid out to enter the body (stacks are reused across
// the blocks this OS thread runs).
void lay_out_fibers(Block& b, dim3 grid, dim3 block_dim, uint3 block_idx) {
  const int n = static_cast<int>(b.fibers.size());
  while (static_cast<int>(tls.stacks.size()) < n) tls.stacks.push_back(std::make_unique<Stack>(g_stack_bytes));
  for (int i = 0; i < n; ++i) {
    Fiber& f = b.fibers[i];
    f.t.thread_idx = {i % block_dim.x, (i / block_dim.x) % block_dim.y, i / (block_dim.x * block_dim.y)};
    f.t.block_idx = block_idx;
    f.t.block_dim = block_dim;
    f.t.grid_dim = grid;
    f.t.linear = i;
    f.sp = prepare_stack(*tls.stacks[i]);
  }
}

void run_block(dim3 grid, dim3 block_dim, uint3 block_idx, size_t dynamic_shared, const std::function<void()>& body,
               Block& b) {
  reset_block(b, static_cast<int>(block_dim.x * block_dim.y * block_dim.z), dynamic_shared, body);
  lay_out_fibers(b, grid, block_dim, block_idx);
  tls.block = &b;
  std::vector<int> order(b.fibers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  install_fault_handler();
  if (!schedule_catching_faults(b, order)) {
    b.failed = true;
    b.error = where(tls.fiber->t) + ": " + tls.fault_message;
  }
  tls.block = nullptr;
  tls.fiber = nullptr;
}

void check_launch(const std::string& launch_desc, dim3 block, size_t dynamic_shared) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64)
    throw std::runtime_error("CUDA kernel " + launch_desc + ": invalid block shape (at most 1024 threads, z <= 64)");
  if (dynamic_shared > 227 * 1024)
    throw std::runtime_error("CUDA kernel " + launch_desc + ": dynamic shared memory beyond 227 KiB");
}

uint3 block_index(int64_t id, dim3 grid) {
  return {static_cast<unsigned>(id % grid.x), static_cast<unsigned>((id / grid.x) % grid.y),
          static_cast<unsigned>(id / (int64_t(grid.x) * grid.y))};
}

}  // namespace

void schedule_block(Block& b, std::vector<int>& order) {
  b.events = 0;
  while (b.live > 0 && !b.failed) {
    const uint64_t events_before = b.events;
    run_round(b, order);
    if (b.failed) break;
    try {
      check_barrier(b);
    } catch (const KernelError& e) {
      b.fail_with(e.what());
      break;
    }
    if (b.live > 0 && b.events == events_before)
      b.fail_with(
          "deadlock: every live thread of the block waits (at __syncthreads or a warp operation) "
          "for threads that will never arrive");
  }
}

}  // namespace internal

using namespace internal;

ThreadState& current() {
  if (!tls.fiber) throw std::logic_error("sinapse sim: device code called outside a kernel launch");
  return tls.fiber->t;
}

std::string last_launch() {
  std::lock_guard<std::mutex> lock(g_last_mutex);
  return g_last_launch;
}

void set_seed(uint64_t seed) { g_seed = seed ? seed : 1; }
void set_racecheck(bool on) { g_racecheck = on; }
void set_stack_bytes(size_t bytes) { g_stack_bytes = std::max<size_t>(bytes, 64 * 1024); }

void run_grid(const std::string& launch_desc, dim3 grid, dim3 block, size_t dynamic_shared,
              const std::function<void()>& body, ParamRange params) {
  check_launch(launch_desc, block, dynamic_shared);
  {
    std::lock_guard<std::mutex> lock(g_last_mutex);
    g_last_launch = launch_desc;
  }
  const int64_t n_blocks = int64_t(grid.x) * grid.y * grid.z;
  // gridDim as the kernel sees it: doubled for the kernel a test names in set_skipped_pass
  // (test_switches.cuh), so its grid-stride loops jump over their second pass.
  const dim3 seen_grid = skips_pass(launch_desc) ? dim3(grid.x * 2, grid.y * 2, grid.z) : grid;
  const uint64_t seed = g_seed.load();
  std::string first_error;
  std::atomic<bool> stop{false};
  const int nthreads = threads_for(static_cast<double>(n_blocks) * block.x * block.y * block.z, 4096);
  ParallelErrors errors;
  profile::begin_launch(launch_desc, grid, block, dynamic_shared, params.lo, params.hi);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    Block b;
#pragma omp for schedule(dynamic, 1)
    for (int64_t id = 0; id < n_blocks; ++id) {
      if (stop.load(std::memory_order_relaxed)) continue;
      tls.rng = (seed ^ (0x9E3779B97F4A7C15ULL * (id + 1))) | 1;  // per block: reproducible with any threads
      // Setting up a block allocates (fiber stacks, shared memory): a std::bad_alloc there
      // must not escape the OpenMP region, so it is carried out and rethrown below.
      if (!errors.run([&] {
            profile::begin_block(static_cast<int>(block.x * block.y * block.z), id);
            run_block(seen_grid, block, block_index(id, grid), dynamic_shared, body, b);
            profile::end_block(b.failed);
          })) {
        stop = true;
        continue;
      }
      if (b.failed) {
#pragma omp critical(sinapse_sim_error)
        if (first_error.empty()) first_error = b.error;
        stop = true;
      }
    }
    profile::flush_thread();  // this OS thread's counts into the launch's
  }
  profile::end_launch(!errors.failed() && first_error.empty());
  errors.rethrow();
  if (!first_error.empty())
    throw std::runtime_error("CUDA kernel " + launch_desc + " failed in the simulator: " + first_error);
}

}  // namespace sinapse::sim
