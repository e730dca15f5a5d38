// The simulator's profiler (sinapse.cuda.simulate(profile=True)): counts, per kernel launch,
// what a GPU's memory system and SIMT pipelines would see — global-memory requests and the
// 32-byte sectors they touch, shared-memory requests and the wavefronts their bank conflicts
// cost, and the basic blocks each warp executes (with how many lanes active), from which
// Python derives FP32 operations and divergence.
//
// How accesses are observed. The kernels' source stays as students read it: the module
// sinapse._cuda_prof compiles the same .cu files with GCC's ThreadSanitizer instrumentation
// (-fsanitize=thread: a call to __tsan_read4(addr) before every 4-byte load the optimiser kept in
// memory, and so on) and its coverage instrumentation (-fsanitize-coverage=trace-pc: a call at the
// start of every basic block), but links no TSan runtime: profiler_hooks.cpp defines those
// callbacks and forwards them here. Register-resident values are never instrumented, as on a GPU.
//
// Where an access goes is told by its address: the running fiber's stack (local memory), the
// block's shared arena, the simulator's per-thread state (threadIdx & co., special registers on
// a GPU), the launch's argument tuple (the constant bank), a buffer an op handed the kernel
// (registered by the bindings: global memory), or none of these (counted as unclassified; the
// tests require zero).
//
// How lanes form warp instructions. Fibers run independently between synchronisation points, so
// the profiler records each thread's trace and, when the block ends, groups the 32 lanes of each
// warp by (instruction address, occurrence): lane i's n-th execution of an instruction joins lane
// j's n-th. That is the SIMT model for loops of different trip counts and for branches (each side
// its own instruction with the lanes that took it); it differs from a GPU only when lanes reach
// the same instruction a different number of times in interleaved patterns a reconvergence stack
// would split (docs/kernels/cuda_profiler.md, "Limits").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim.h"

namespace sinapse::sim::profile {

// Every counter of one launch (summed over its blocks). Requests are warp-level instructions.
struct Counts {
  uint64_t global_load_requests = 0, global_load_sectors = 0, global_load_ideal_sectors = 0, global_load_bytes = 0;
  uint64_t global_store_requests = 0, global_store_sectors = 0, global_store_ideal_sectors = 0, global_store_bytes = 0;
  uint64_t global_atomic_requests = 0, global_atomic_sectors = 0;
  uint64_t shared_load_requests = 0, shared_load_wavefronts = 0, shared_load_ideal_wavefronts = 0;
  uint64_t shared_store_requests = 0, shared_store_wavefronts = 0, shared_store_ideal_wavefronts = 0;
  uint64_t shared_atomic_requests = 0;
  uint64_t local_loads = 0, local_stores = 0;  // thread-level (stack: spills, arrays, by-value arguments)
  uint64_t unclassified_loads = 0, unclassified_stores = 0;
  uint64_t duplicate_lane_events = 0;  // a lane twice in one warp instruction: the grouping's blind spot
  void add(const Counts& o);
};

// One basic block's executions: by warps (warp instructions) and by lanes (thread instructions).
struct BlockExecutions {
  uint64_t warp = 0, lane = 0;
};

struct LaunchRecord {
  std::string launch;  // "name<<<grid=..., block=..., shared=... B>>>"
  dim3 grid, block;
  size_t dynamic_shared = 0;
  Counts counts;
  uint64_t distinct_load_sectors = 0, distinct_store_sectors = 0;  // over the whole launch
  uint64_t sampled_blocks = 0;  // the blocks whose warps were traced (the counts are theirs)
  std::unordered_map<uintptr_t, BlockExecutions> basic_blocks;  // key: offset in the module
};

// Python's side (bindings): start recording, then stop and take the launches recorded since.
// With max_blocks > 0, at most that many blocks of each launch are traced (spread evenly over
// the grid, its last block included); every block still runs (unobserved, at nearly the plain
// simulator's speed), and the traced blocks' counts are scaled to the grid.
void start(uint64_t max_blocks = 0);
std::vector<LaunchRecord> stop();
bool active();

// The scheduler's hooks (all return at once when not recording).
void begin_launch(const std::string& desc, dim3 grid, dim3 block, size_t dynamic_shared, const void* params_lo,
                  const void* params_hi);
void begin_block(int threads, int64_t id);
void on_switch(int linear);  // the block's OS thread resumes fiber `linear`
void off_fiber();            // ... and is back in the scheduler
void end_block(bool failed);
void flush_thread();  // at the end of the launch's parallel region, on each OS thread
void end_launch(bool ok);

// The instrumentation's entry points (profiler_hooks.cpp).
void access(const void* addr, unsigned size, bool write, uintptr_t pc);
void atomic_access(const void* addr, unsigned size, uintptr_t pc);
void basic_block(uintptr_t pc);

}  // namespace sinapse::sim::profile
