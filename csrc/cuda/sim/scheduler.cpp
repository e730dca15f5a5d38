// The scheduler: a launch runs its blocks in parallel on OpenMP threads; each block's CUDA
// threads are fibers (fiber.cpp) that the block's OS thread resumes in rounds, in a fresh
// seeded random order each round, until all are done, one fails, or a round makes no progress
// (a deadlock). Also the simulator's settings, the launch record, and the launch limits of
// sm_90 every launch is checked against (check_launch).
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../../common/parallel_errors.h"
#include "../../common/threading.h"
#include "../check.h"
#include "../test_switches.cuh"
#include "profiler.h"
#include "runtime.h"

namespace sinapse::sim {

namespace sm90 = ::sinapse::cuda::sm90;

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

// A launch's shared memory: the dynamic bytes, and what static shared memory may take
// (check_launch).
struct SharedPlan {
  size_t dynamic = 0, static_budget = kStaticSharedLimit;
  std::string static_rule;
};

// A fresh block: its fibers, warps, poisoned shared memory and race-check shadow.
void reset_block(Block& b, int n, const SharedPlan& shared, const std::function<void()>& body) {
  b.fibers.assign(n, Fiber{});
  b.warps.assign((n + 31) / 32, Warp{});
  b.live = n;
  b.at_barrier = 0;
  b.body = &body;
  b.failed = false;
  b.error.clear();
  b.dynamic_bytes = (shared.dynamic + 15) / 16 * 16;
  b.static_budget = shared.static_budget;
  b.static_rule = shared.static_rule;
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

void run_block(dim3 grid, dim3 block_dim, uint3 block_idx, const SharedPlan& shared, const std::function<void()>& body,
               Block& b) {
  reset_block(b, static_cast<int>(block_dim.x * block_dim.y * block_dim.z), shared, body);
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

// ---- launch limits of sm_90 (check.h, sm90) ------------------------------------------------
std::mutex g_limits_mutex;
std::map<std::string, int> g_registers;       // registers per thread, by launch name
std::map<const void*, size_t> g_max_dynamic;  // cudaFuncAttributeMaxDynamicSharedMemorySize
std::atomic<int64_t> g_grid_chunk{0};

// "CUDA kernel k<<<...>>>: invalid grid shape: grid.y = 65536, at most 65535 (sm_90)".
void require(bool ok, const std::string& launch_desc, const char* kind, const std::string& what, uint64_t value,
             uint64_t limit, const std::string& note = "") {
  if (!ok)
    throw std::runtime_error("CUDA kernel " + launch_desc + ": " + kind + ": " + what + " = " + std::to_string(value) +
                             ", at most " + std::to_string(limit) + " (sm_90)" + note);
}

// Registers are allocated per warp, rounded up to 256, and a block's warps share 64K
// (CUDA Occupancy Calculator, sm_90: register allocation unit 256, warp granularity).
void check_registers(const std::string& launch_desc, uint64_t threads) {
  const std::string name = launch_desc.substr(0, launch_desc.find("<<<"));
  int per_thread = 0;
  {
    std::lock_guard<std::mutex> lock(g_limits_mutex);
    const auto it = g_registers.find(name);
    if (it == g_registers.end()) return;
    per_thread = it->second;
  }
  const uint64_t unit = sm90::kRegisterAllocationUnit, warps = (threads + 31) / 32;
  const uint64_t per_warp = (uint64_t(per_thread) * 32 + unit - 1) / unit * unit;
  require(per_warp * warps <= uint64_t(sm90::kRegistersPerBlock), launch_desc, "too many resources requested",
          "registers per block", per_warp * warps, sm90::kRegistersPerBlock,
          ": " + std::to_string(per_thread) + " registers per thread (nvcc), " + std::to_string(per_warp) +
              " per warp after rounding up to " + std::to_string(unit) + ", x " + std::to_string(warps) + " warps");
}

// Dynamic shared memory against the kernel's opt-in; returns what static shared memory may
// then take (checked as each block carves it: shared_memory.cpp).
SharedPlan check_shared(const std::string& launch_desc, size_t dynamic_shared, const void* kernel) {
  size_t opt_in = 0;
  {
    std::lock_guard<std::mutex> lock(g_limits_mutex);
    const auto it = g_max_dynamic.find(kernel);
    if (it != g_max_dynamic.end()) opt_in = it->second;
  }
  SharedPlan plan;
  plan.dynamic = dynamic_shared;
  if (opt_in == 0) {
    require(dynamic_shared <= sm90::kDefaultDynamicSharedLimit, launch_desc, "too much shared memory",
            "dynamic shared memory", dynamic_shared, sm90::kDefaultDynamicSharedLimit,
            " without an opt-in: above 48 KiB a kernel needs allow_dynamic_shared (launch.cuh), i.e. "
            "cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)");
    plan.static_budget = sm90::kDefaultDynamicSharedLimit - dynamic_shared;
    plan.static_rule = "static shared memory is at most " + std::to_string(kStaticSharedLimit) +
                       " B, and static + dynamic (" + std::to_string(dynamic_shared) + " B) at most " +
                       std::to_string(sm90::kDefaultDynamicSharedLimit) +
                       " B without the MaxDynamicSharedMemorySize opt-in (sm_90)";
    return plan;
  }
  require(dynamic_shared <= opt_in, launch_desc, "too much shared memory", "dynamic shared memory", dynamic_shared,
          opt_in, ", the kernel's MaxDynamicSharedMemorySize (allow_dynamic_shared)");
  plan.static_budget = std::min(kStaticSharedLimit, sm90::kOptInSharedLimit - opt_in);
  plan.static_rule = "static shared memory is at most " + std::to_string(kStaticSharedLimit) +
                     " B, and static + the opted-in dynamic maximum (" + std::to_string(opt_in) + " B) at most " +
                     std::to_string(sm90::kOptInSharedLimit) + " B (sm_90)";
  return plan;
}

// Every launch limit of sm_90 a launch can break before it runs (grid and block shape,
// registers, dynamic shared memory); a GPU refuses such a launch, so the simulator does too.
SharedPlan check_launch(const std::string& launch_desc, dim3 grid, dim3 block, size_t dynamic_shared,
                        const void* kernel) {
  const char* grid_shape = "invalid grid shape";
  require(grid.x <= uint64_t(sm90::kMaxGridX), launch_desc, grid_shape, "grid.x", grid.x, sm90::kMaxGridX);
  require(grid.y <= uint64_t(sm90::kMaxGridYZ), launch_desc, grid_shape, "grid.y", grid.y, sm90::kMaxGridYZ);
  require(grid.z <= uint64_t(sm90::kMaxGridYZ), launch_desc, grid_shape, "grid.z", grid.z, sm90::kMaxGridYZ);
  const char* block_shape = "invalid block shape";
  require(block.x <= uint64_t(sm90::kMaxBlockXY), launch_desc, block_shape, "block.x", block.x, sm90::kMaxBlockXY);
  require(block.y <= uint64_t(sm90::kMaxBlockXY), launch_desc, block_shape, "block.y", block.y, sm90::kMaxBlockXY);
  require(block.z <= uint64_t(sm90::kMaxBlockZ), launch_desc, block_shape, "block.z", block.z, sm90::kMaxBlockZ);
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  require(threads <= uint64_t(sm90::kMaxThreadsPerBlock), launch_desc, block_shape, "threads per block", threads,
          sm90::kMaxThreadsPerBlock);
  if (threads == 0) throw std::runtime_error("CUDA kernel " + launch_desc + ": invalid block shape: no threads");
  check_registers(launch_desc, threads);
  return check_shared(launch_desc, dynamic_shared, kernel);
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

void set_kernel_registers(const std::map<std::string, int>& registers) {
  std::lock_guard<std::mutex> lock(g_limits_mutex);
  g_registers = registers;
}

std::map<std::string, int> kernel_registers() {
  std::lock_guard<std::mutex> lock(g_limits_mutex);
  return g_registers;
}

void set_max_dynamic_shared(const void* kernel, size_t bytes) {
  // cudaFuncSetAttribute refuses more than the opt-in limit (cudaErrorInvalidValue).
  if (bytes > sm90::kOptInSharedLimit)
    throw std::runtime_error("cudaFuncSetAttribute(MaxDynamicSharedMemorySize, " + std::to_string(bytes) +
                             "): at most " + std::to_string(sm90::kOptInSharedLimit) +
                             " B of shared memory per block (sm_90)");
  std::lock_guard<std::mutex> lock(g_limits_mutex);
  if (bytes == 0)
    g_max_dynamic.erase(kernel);
  else
    g_max_dynamic[kernel] = bytes;
}

void set_grid_chunk(int64_t extent) { g_grid_chunk = extent > 0 ? extent : 0; }

int64_t grid_chunk(int64_t limit) {
  const int64_t forced = g_grid_chunk.load();
  return forced > 0 && forced < limit ? forced : limit;
}

void run_grid(const std::string& launch_desc, dim3 grid, dim3 block, size_t dynamic_shared,
              const std::function<void()>& body, const void* kernel, ParamRange params) {
  const SharedPlan shared = check_launch(launch_desc, grid, block, dynamic_shared, kernel);
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
            run_block(seen_grid, block, block_index(id, grid), shared, body, b);
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
