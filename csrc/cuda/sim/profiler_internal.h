// The profiler's per-thread trace and the warp grouping (profiler.cpp records, profiler_warps.cpp
// turns a block's traces into counts). Not included by kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <unordered_map>
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

// The distinct 32-byte sectors a launch touched: a bitmap per buffer. Addresses are device
// addresses as profiler.cpp translates them: buffer index + 1 above bit 40, offset below.
class SectorSet {
 public:
  void mark(uintptr_t device_addr, unsigned bytes) {
    const size_t buffer = (device_addr >> 40) - 1;
    if (buffer >= bits_.size()) bits_.resize(buffer + 1);
    auto& b = bits_[buffer];
    const uint64_t offset = device_addr & ((uint64_t(1) << 40) - 1);
    for (uint64_t s = offset >> 5; s <= (offset + bytes - 1) >> 5; ++s) {
      if (s / 64 >= b.size()) b.resize(std::max<size_t>(s / 64 + 1, 2 * b.size()), 0);
      b[s / 64] |= uint64_t(1) << (s % 64);
    }
  }
  void merge(const SectorSet& o) {
    if (o.bits_.size() > bits_.size()) bits_.resize(o.bits_.size());
    for (size_t i = 0; i < o.bits_.size(); ++i) {
      auto& b = bits_[i];
      if (o.bits_[i].size() > b.size()) b.resize(o.bits_[i].size(), 0);
      for (size_t w = 0; w < o.bits_[i].size(); ++w) b[w] |= o.bits_[i][w];
    }
  }
  // Distinct sectors, each buffer's count times `scale` (rounded) and at most its sector count.
  uint64_t count(double scale = 1.0, const std::vector<uint64_t>& buffer_sectors = {}) const {
    uint64_t n = 0;
    for (size_t i = 0; i < bits_.size(); ++i) {
      uint64_t m = 0;
      for (uint64_t w : bits_[i]) m += static_cast<uint64_t>(__builtin_popcountll(w));
      m = static_cast<uint64_t>(static_cast<double>(m) * scale + 0.5);
      n += i < buffer_sectors.size() ? std::min(m, buffer_sectors[i]) : m;
    }
    return n;
  }
  void clear() { bits_.clear(); }

 private:
  std::vector<std::vector<uint64_t>> bits_;
};

// What one OS thread accumulates over the blocks it runs in a launch.
struct Totals {
  Counts counts;
  SectorSet load_sectors, store_sectors;                  // distinct 32-byte sectors of the traced blocks
  std::unordered_map<uintptr_t, BlockExecutions> blocks;  // key: absolute address
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
