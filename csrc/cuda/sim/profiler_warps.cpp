// Warp instructions from lane traces, and what each costs the memory system.
//
// A warp instruction is every lane's n-th execution of one instruction (profiler.h). Lanes that
// ran in step — the common case — are grouped in one pass over their traces; from the first
// point where they differ (divergence, different trip counts), the rest of the warp's events are
// grouped by hashing (instruction, occurrence).
//
// Costs, per warp instruction (the model Nsight Compute reports, docs/kernels/cuda_profiler.md):
//   global: the distinct 32-byte sectors the active lanes' bytes touch (a request's "sectors"),
//           against ceil(distinct bytes / 32), the fewest that could hold them ("ideal");
//   shared: wavefronts — the most distinct 4-byte words any of the 32 banks must serve (lanes
//           reading one word share it), per half-warp for 8-byte and per quarter-warp for
//           16-byte accesses; "ideal" is ceil(distinct bytes / 128);
//   block:  one warp execution of the basic block, with the number of lanes active.
#include <algorithm>
#include <array>

#include "profiler_internal.h"

namespace sinapse::sim::profile::internal {

namespace {

constexpr int kWarp = 32;

struct Lane {  // one lane's event in a warp instruction
  int lane;
  uintptr_t addr;
  uint8_t size;
};

// Distinct bytes covered by [addr, addr + size) over the lanes (their union's length).
uint64_t distinct_bytes(const Lane* l, int n) {
  std::array<std::pair<uintptr_t, uintptr_t>, kWarp * 2> spans;
  const int m = std::min(n, static_cast<int>(spans.size()));
  for (int i = 0; i < m; ++i) spans[i] = {l[i].addr, l[i].addr + l[i].size};
  std::sort(spans.begin(), spans.begin() + m);
  uint64_t total = 0;
  uintptr_t end = 0;
  for (int i = 0; i < m; ++i) {
    const uintptr_t lo = std::max(spans[i].first, end);
    if (spans[i].second > lo) total += spans[i].second - lo;
    end = std::max(end, spans[i].second);
  }
  return total;
}

// The distinct sectors the lanes touch, appended to `out` (sorted, unique).
void sectors_of(const Lane* l, int n, std::vector<uint64_t>& out) {
  out.clear();
  for (int i = 0; i < n; ++i)
    for (uint64_t s = l[i].addr >> 5; s <= (l[i].addr + l[i].size - 1) >> 5; ++s) out.push_back(s);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

void count_global(Kind kind, const Lane* l, int n, Totals& t) {
  static thread_local std::vector<uint64_t> sectors;
  sectors_of(l, n, sectors);
  uint64_t bytes = 0;
  for (int i = 0; i < n; ++i) bytes += l[i].size;
  const uint64_t ideal = ceil_div(distinct_bytes(l, n), 32);
  Counts& c = t.counts;
  if (kind == Kind::global_load) {
    ++c.global_load_requests;
    c.global_load_sectors += sectors.size();
    c.global_load_ideal_sectors += ideal;
    c.global_load_bytes += bytes;
  } else if (kind == Kind::global_store) {
    ++c.global_store_requests;
    c.global_store_sectors += sectors.size();
    c.global_store_ideal_sectors += ideal;
    c.global_store_bytes += bytes;
  } else {  // an atomic (performed in L2 on a GPU)
    ++c.global_atomic_requests;
    c.global_atomic_sectors += sectors.size();
  }
}

void count_shared(Kind kind, const Lane* l, int n, Totals& t) {
  std::array<int, kWarp> lanes;
  std::array<uintptr_t, kWarp> offsets;
  std::array<uint8_t, kWarp> sizes;
  const int m = std::min(n, kWarp);
  for (int i = 0; i < m; ++i) {
    lanes[i] = l[i].lane;
    offsets[i] = l[i].addr;
    sizes[i] = l[i].size;
  }
  const uint64_t wavefronts = shared_wavefronts(lanes.data(), offsets.data(), sizes.data(), m);
  const uint64_t ideal = ceil_div(distinct_bytes(l, n), 128);
  Counts& c = t.counts;
  if (kind == Kind::shared_load) {
    ++c.shared_load_requests;
    c.shared_load_wavefronts += wavefronts;
    c.shared_load_ideal_wavefronts += ideal;
  } else if (kind == Kind::shared_store) {
    ++c.shared_store_requests;
    c.shared_store_wavefronts += wavefronts;
    c.shared_store_ideal_wavefronts += ideal;
  } else {
    ++c.shared_atomic_requests;
  }
}

// One warp instruction: `n` lanes' events of one (pc, occurrence, kind).
void count_instruction(Kind kind, uintptr_t pc, const Lane* l, int n, Totals& t) {
  for (int i = 1; i < n; ++i)
    if (l[i].lane == l[i - 1].lane) ++t.counts.duplicate_lane_events;
  switch (kind) {
    case Kind::block: {
      BlockExecutions& e = t.blocks[pc];
      ++e.warp;
      e.lane += static_cast<uint64_t>(n);
      break;
    }
    case Kind::global_load:
    case Kind::global_store:
    case Kind::global_atomic:
      count_global(kind, l, n, t);
      break;
    default:
      count_shared(kind, l, n, t);
  }
}

struct Tagged {  // an event with its lane, for the diverged part of a warp
  Event e;
  int lane;
};

// A hash of (pc, occurrence, kind): the identity of a warp instruction.
uint64_t instruction_hash(const Event& e) {
  return (e.pc * 0x9E3779B97F4A7C15ULL) ^
         ((static_cast<uint64_t>(e.occ) << 8 | static_cast<uint8_t>(e.kind)) * 0xC2B2AE3D27D4EB4FULL);
}
bool same_instruction(const Event& a, const Event& b) { return a.pc == b.pc && a.occ == b.occ && a.kind == b.kind; }

// The lanes' events from position idx[lane] on, grouped into warp instructions in linear time:
// each event gets its instruction's group number (an open-addressing table over the first event
// of each group), then a counting sort by group — stable, so each group's lanes stay in order.
void count_diverged(std::vector<FiberTrace>& fibers, int first, int lanes, const size_t* idx, Totals& t) {
  static thread_local std::vector<Tagged> rest, sorted;
  static thread_local std::vector<uint32_t> group_of, size_of, slots;
  static thread_local std::vector<size_t> heads;  // index in `rest` of each group's first event
  rest.clear();
  for (int l = 0; l < lanes; ++l) {
    const auto& ev = fibers[first + l].events;
    for (size_t i = idx[l]; i < ev.size(); ++i) rest.push_back({ev[i], l});
  }
  if (rest.empty()) return;
  size_t capacity = 64;
  while (capacity < 2 * rest.size()) capacity *= 2;
  slots.assign(capacity, UINT32_MAX);
  group_of.resize(rest.size());
  size_of.clear();
  heads.clear();
  for (size_t i = 0; i < rest.size(); ++i) {
    size_t s = instruction_hash(rest[i].e) & (capacity - 1);
    while (slots[s] != UINT32_MAX && !same_instruction(rest[heads[slots[s]]].e, rest[i].e))
      s = (s + 1) & (capacity - 1);
    if (slots[s] == UINT32_MAX) {
      slots[s] = static_cast<uint32_t>(heads.size());
      heads.push_back(i);
      size_of.push_back(0);
    }
    group_of[i] = slots[s];
    ++size_of[slots[s]];
  }
  std::vector<size_t> start(size_of.size() + 1, 0);
  for (size_t g = 0; g < size_of.size(); ++g) start[g + 1] = start[g] + size_of[g];
  sorted.resize(rest.size());
  std::vector<size_t> fill(start.begin(), start.end() - 1);
  for (size_t i = 0; i < rest.size(); ++i) sorted[fill[group_of[i]]++] = rest[i];
  static thread_local std::vector<Lane> group;
  for (size_t g = 0; g < size_of.size(); ++g) {
    group.clear();
    for (size_t k = start[g]; k < start[g + 1]; ++k)
      group.push_back({sorted[k].lane, sorted[k].e.addr, sorted[k].e.size});
    const Event& e = sorted[start[g]].e;
    count_instruction(e.kind, e.pc, group.data(), static_cast<int>(group.size()), t);
  }
}

}  // namespace

uint64_t shared_wavefronts(const int* lanes, const uintptr_t* offsets, const uint8_t* sizes, int n) {
  // Lanes are served in phases: the whole warp for accesses of up to 4 bytes, half-warps for 8,
  // quarter-warps for 16 (each phase moves at most 128 bytes).
  int widest = 1;
  for (int i = 0; i < n; ++i) widest = std::max<int>(widest, sizes[i]);
  const int phase_lanes = widest <= 4 ? 32 : widest <= 8 ? 16 : 8;
  uint64_t total = 0;
  for (int phase = 0; phase < kWarp / phase_lanes; ++phase) {
    std::array<uint64_t, 4 * kWarp> words;  // (bank << 32 | word) of every word the phase touches
    int m = 0;
    for (int i = 0; i < n; ++i) {
      if (lanes[i] / phase_lanes != phase) continue;
      for (uintptr_t w = offsets[i] / 4; w <= (offsets[i] + sizes[i] - 1) / 4 && m < 4 * kWarp; ++w)
        words[m++] = (static_cast<uint64_t>(w % 32) << 32) | static_cast<uint32_t>(w);
    }
    if (m == 0) continue;
    std::sort(words.begin(), words.begin() + m);
    const int distinct = static_cast<int>(std::unique(words.begin(), words.begin() + m) - words.begin());
    uint64_t worst = 0, run = 0, bank = ~0ULL;
    for (int i = 0; i < distinct; ++i) {  // the most distinct words in any one bank
      const uint64_t b = words[i] >> 32;
      run = b == bank ? run + 1 : 1;
      bank = b;
      worst = std::max(worst, run);
    }
    total += worst;
  }
  return total;
}

void count_warp(std::vector<FiberTrace>& fibers, int first, int lanes, Totals& t) {
  std::array<size_t, kWarp> idx{};
  std::array<Lane, kWarp> group;
  for (;;) {  // lanes in step: every lane's next event is the same instruction
    const auto& lead = fibers[first].events;
    if (idx[0] >= lead.size()) break;
    const Event& e0 = lead[idx[0]];
    bool same = true;
    for (int l = 1; l < lanes && same; ++l) {
      const auto& ev = fibers[first + l].events;
      same = idx[l] < ev.size() && ev[idx[l]].pc == e0.pc && ev[idx[l]].occ == e0.occ && ev[idx[l]].kind == e0.kind;
    }
    if (!same) break;
    for (int l = 0; l < lanes; ++l) {
      const Event& e = fibers[first + l].events[idx[l]++];
      group[l] = {l, e.addr, e.size};
    }
    count_instruction(e0.kind, e0.pc, group.data(), lanes, t);
  }
  count_diverged(fibers, first, lanes, idx.data(), t);
}

}  // namespace sinapse::sim::profile::internal
