// The profiler's per-thread trace and the warp grouping (profiler.cpp records, profiler_warps.cpp
// turns a block's traces into counts). Not included by kernels.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "profiler.h"

namespace sinapse::sim::profile::internal {

enum class Kind : uint8_t { global_load, global_store, global_atomic, shared_load, shared_store, shared_atomic, block };

// One thing a CUDA thread did: a memory access (address: global pointer, or offset in the
// block's shared arena) or entering a basic block, at instruction `pc`, during that thread's
// `occ`-th execution of the basic block the instruction belongs to.
struct Event {
  uintptr_t pc;
  uintptr_t addr;
  uint32_t occ;
  uint8_t size;
  Kind kind;
};

struct FiberTrace {
  std::vector<Event> events;
  std::unordered_map<uintptr_t, uint32_t> block_count;  // basic block -> executions so far
  uint32_t occ = 0;                                      // of the basic block being executed
  void clear() {
    events.clear();
    block_count.clear();
    occ = 0;
  }
};

// What one OS thread accumulates over the blocks it runs in a launch.
struct Totals {
  Counts counts;
  std::unordered_set<uint64_t> load_sectors, store_sectors;  // distinct 32-byte sectors
  std::unordered_map<uintptr_t, BlockExecutions> blocks;     // key: absolute address
  void clear() {
    counts = Counts();
    load_sectors.clear();
    store_sectors.clear();
    blocks.clear();
  }
};

// Groups the traces of one warp's lanes (`lanes` fibers from `first`) into warp instructions
// and adds their counts to `totals`.
void count_warp(std::vector<FiberTrace>& fibers, int first, int lanes, Totals& totals);

// Wavefronts of one warp-level shared-memory access: lanes' byte offsets and sizes. 32 banks of
// 4 bytes; accesses of 8 (16) bytes are served a half-warp (quarter-warp) at a time; lanes reading
// the same word share it (broadcast). Exposed for the tests of the model.
uint64_t shared_wavefronts(const int* lanes, const uintptr_t* offsets, const uint8_t* sizes, int n);

}  // namespace sinapse::sim::profile::internal
