// The profiler's per-thread trace and the warp grouping (profiler.cpp records, profiler_warps.cpp
// turns a block's traces into counts). Not included by kernels.
#pragma once

#include <algorithm>
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

// Executions so far of each basic block (by address): an open-addressing table, since it is
// looked up at every basic block a thread enters (std::unordered_map was most of the cost).
class BlockCounter {
 public:
  uint32_t next(uintptr_t pc) {  // the execution number of this entry into `pc` (0, 1, ...)
    if (2 * (used_ + 1) > slots_.size()) grow();
    size_t i = slot(pc);
    if (slots_[i].first != pc) {
      slots_[i] = {pc, 0};
      ++used_;
    }
    return slots_[i].second++;
  }
  void clear() {
    if (used_) std::fill(slots_.begin(), slots_.end(), std::pair<uintptr_t, uint32_t>{0, 0});
    used_ = 0;
  }

 private:
  size_t slot(uintptr_t pc) const {
    const size_t mask = slots_.size() - 1;
    size_t i = (pc * 0x9E3779B97F4A7C15ULL >> 20) & mask;
    while (slots_[i].first != 0 && slots_[i].first != pc) i = (i + 1) & mask;
    return i;
  }
  void grow() {
    std::vector<std::pair<uintptr_t, uint32_t>> old(slots_.empty() ? 64 : slots_.size() * 2, {0, 0});
    old.swap(slots_);
    for (const auto& e : old)
      if (e.first) slots_[slot(e.first)] = e;
  }
  std::vector<std::pair<uintptr_t, uint32_t>> slots_;
  size_t used_ = 0;
};

struct FiberTrace {
  std::vector<Event> events;
  BlockCounter block_count;
  uint32_t occ = 0;  // of the basic block being executed
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
