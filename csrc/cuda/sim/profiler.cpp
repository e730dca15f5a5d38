// The profiler's recording (see profiler.h): the global buffers ops hand kernels, the
// launch being recorded, each OS thread's traces and totals, and the finished launches.
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "profiler_internal.h"
#include "runtime.h"

namespace sinapse::sim {

namespace profile {

namespace {

using internal::Event;
using internal::FiberTrace;
using internal::Kind;
using internal::Totals;
using Range = std::pair<uintptr_t, uintptr_t>;  // [lo, hi)

std::atomic<bool> g_on{false};
bool g_recording = false;  // a launch is being recorded (set before its blocks start)
std::mutex g_mutex;        // the buffers, the launch's totals and the records
std::vector<Range> g_buffers;
std::vector<LaunchRecord> g_records;

struct Launch {
  LaunchRecord record;
  Totals totals;
  std::vector<Range> buffers;  // g_buffers merged into disjoint ranges, sorted
  uintptr_t params_lo = 0, params_hi = 0;
  int64_t blocks = 0;           // in the grid
  uint64_t sampled_blocks = 0;  // traced (all, unless start() was given a maximum)
} g_launch;
uint64_t g_max_blocks = 0;  // 0: trace every block

struct ThreadTrace {
  std::vector<FiberTrace> fibers;
  int threads = 0;
  bool sampled = true;
  Totals totals;
  bool dirty = false;
};
thread_local ThreadTrace t_trace;

// The running CUDA thread's trace and the address ranges that classify its accesses, set at
// every switch to a fiber (on_switch): the hooks then read plain thread-locals, not the
// runtime's (whose access goes through a TLS wrapper call every time).
struct Current {
  FiberTrace* trace = nullptr;  // null outside a fiber, and in blocks the sampling leaves out
  uintptr_t stack_lo = 0, stack_bytes = 0, arena_lo = 0, arena_bytes = 0, state_lo = 0, state_bytes = 0;
};
thread_local Current t_current;

// The address as the GPU would see it, or 0 outside every buffer: each buffer (the union of
// the arrays registered over it: views share their allocation) starts on its own 256-byte
// boundary, as cudaMalloc's do (NumPy's are only 16-byte aligned, which would shift sectors),
// at 2^40 times its index (so that distinct buffers never share a sector).
uintptr_t device_address(uintptr_t a) {
  const auto& b = g_launch.buffers;
  auto it = std::upper_bound(b.begin(), b.end(), Range{a, ~uintptr_t(0)});
  if (it == b.begin() || a >= std::prev(it)->second) return 0;
  --it;
  return (static_cast<uintptr_t>(it - b.begin() + 1) << 40) + (a - it->first);
}

std::vector<Range> merged(std::vector<Range> r) {
  std::sort(r.begin(), r.end());
  std::vector<Range> out;
  for (const Range& x : r) {
    if (!out.empty() && x.first <= out.back().second)
      out.back().second = std::max(out.back().second, x.second);
    else
      out.push_back(x);
  }
  return out;
}

uintptr_t module_base() {
  static const uintptr_t base = [] {
    Dl_info info{};
    dladdr(reinterpret_cast<void*>(&start), &info);
    return reinterpret_cast<uintptr_t>(info.dli_fbase);
  }();
  return base;
}

void push(Kind kind, uintptr_t pc, uintptr_t addr, unsigned size) {
  FiberTrace& f = *t_current.trace;
  f.events.push_back({pc, addr, f.occ, static_cast<uint8_t>(size > 255 ? 255 : size), kind});
}

// Where an access by the running CUDA thread goes; pushes it when it is global or shared memory.
void classify(uintptr_t a, unsigned size, Kind global_kind, Kind shared_kind, uintptr_t pc, bool write) {
  const Current& cur = t_current;
  Counts& c = t_trace.totals.counts;
  if (a - cur.stack_lo < cur.stack_bytes) {
    ++(write ? c.local_stores : c.local_loads);
  } else if (a - cur.arena_lo < cur.arena_bytes) {
    push(shared_kind, pc, a - cur.arena_lo, size);
  } else if (a - cur.state_lo < cur.state_bytes) {
    // threadIdx, blockIdx, ...: special registers on a GPU
  } else if (a - g_launch.params_lo < g_launch.params_hi - g_launch.params_lo) {
    // the kernel's arguments: the constant bank on a GPU
  } else if (const uintptr_t d = device_address(a)) {
    Totals& t = t_trace.totals;
    if (global_kind != Kind::global_store) t.load_sectors.mark(d, size);
    if (global_kind != Kind::global_load) t.store_sectors.mark(d, size);
    push(global_kind, pc, d, size);
  } else {
    ++(write ? c.unclassified_stores : c.unclassified_loads);
  }
}

bool recording_here() { return t_current.trace != nullptr && g_recording; }

}  // namespace

void Counts::add(const Counts& o) {
  const auto* src = reinterpret_cast<const uint64_t*>(&o);
  auto* dst = reinterpret_cast<uint64_t*>(this);
  static_assert(sizeof(Counts) % sizeof(uint64_t) == 0, "Counts holds uint64_t counters only");
  for (size_t i = 0; i < sizeof(Counts) / sizeof(uint64_t); ++i) dst[i] += src[i];
}

bool active() { return g_on.load(); }

void start(uint64_t max_blocks) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_max_blocks = max_blocks;
  g_buffers.clear();
  g_records.clear();
  g_on = true;
}

std::vector<LaunchRecord> stop() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_on = false;
  g_buffers.clear();
  return std::move(g_records);
}

void begin_launch(const std::string& desc, dim3 grid, dim3 block, size_t dynamic_shared, const void* params_lo,
                  const void* params_hi) {
  if (!g_on) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_launch.record = LaunchRecord();
  g_launch.record.launch = desc;
  g_launch.record.grid = grid;
  g_launch.record.block = block;
  g_launch.record.dynamic_shared = dynamic_shared;
  g_launch.totals.clear();
  g_launch.buffers = merged(g_buffers);
  g_launch.params_lo = reinterpret_cast<uintptr_t>(params_lo);
  g_launch.params_hi = reinterpret_cast<uintptr_t>(params_hi);
  g_launch.blocks = int64_t(grid.x) * grid.y * grid.z;
  g_launch.sampled_blocks = 0;
  g_recording = true;
}

void on_switch(int linear) {
  if (!g_recording) {
    t_current.trace = nullptr;
    return;
  }
  using namespace sim::internal;
  const Block& b = *tls.block;
  const Stack& s = *tls.stacks[linear];
  Current& cur = t_current;
  cur.trace = t_trace.sampled ? &t_trace.fibers[linear] : nullptr;  // an unsampled block is not observed
  cur.stack_lo = reinterpret_cast<uintptr_t>(s.base);
  cur.stack_bytes = s.bytes;
  cur.arena_lo = reinterpret_cast<uintptr_t>(b.arena.data());
  cur.arena_bytes = b.arena.size();
  cur.state_lo = reinterpret_cast<uintptr_t>(b.fibers.data());
  cur.state_bytes = b.fibers.size() * sizeof(Fiber);
}

void off_fiber() { t_current.trace = nullptr; }

void begin_block(int threads, int64_t id) {
  if (!g_recording) return;
  ThreadTrace& t = t_trace;
  // With a maximum of S traced blocks out of n, block `id` is traced when id * S / n steps:
  // S blocks evenly spread, the grid's last (its partial tiles in every dimension) among them.
  const int64_t n = g_launch.blocks, s = static_cast<int64_t>(g_max_blocks);
  t.sampled = s == 0 || s >= n || (id * s) / n != ((id + 1) * s) / n;
  if (t.sampled) {
    std::lock_guard<std::mutex> lock(g_mutex);
    ++g_launch.sampled_blocks;
  }
  if (static_cast<int>(t.fibers.size()) < threads) t.fibers.resize(threads);
  for (int i = 0; i < threads; ++i) t.fibers[i].clear();
  t.threads = threads;
  t.dirty = true;
}

void end_block(bool failed) {
  if (!g_recording || failed || !t_trace.sampled) return;
  ThreadTrace& t = t_trace;
  for (int first = 0; first < t.threads; first += 32)
    internal::count_warp(t.fibers, first, std::min(32, t.threads - first), t.totals);
}

void flush_thread() {
  ThreadTrace& t = t_trace;
  if (!g_recording || !t.dirty) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  Totals& g = g_launch.totals;
  g.counts.add(t.totals.counts);
  g.load_sectors.merge(t.totals.load_sectors);
  g.store_sectors.merge(t.totals.store_sectors);
  for (const auto& [pc, e] : t.totals.blocks) {
    BlockExecutions& d = g.blocks[pc];
    d.warp += e.warp;
    d.lane += e.lane;
  }
  t.totals.clear();
  t.dirty = false;
}

void end_launch(bool ok) {
  if (!g_recording) return;
  flush_thread();  // the launching thread (a serial launch runs every block on it)
  std::lock_guard<std::mutex> lock(g_mutex);
  g_recording = false;
  if (!ok) return;
  LaunchRecord& r = g_launch.record;
  r.counts = g_launch.totals.counts;
  // Sampled launches: each buffer's distinct sectors scaled to the grid, at most the buffer's own
  // (a buffer every block reads, weights, stays whole; one the blocks split, activations, scales).
  const double scale = g_launch.sampled_blocks ? double(g_launch.blocks) / double(g_launch.sampled_blocks) : 1.0;
  std::vector<uint64_t> sizes;
  for (const Range& b : g_launch.buffers) sizes.push_back((b.second - b.first + 31) / 32);
  r.distinct_load_sectors = g_launch.totals.load_sectors.count(scale, sizes);
  r.distinct_store_sectors = g_launch.totals.store_sectors.count(scale, sizes);
  r.sampled_blocks = g_launch.sampled_blocks;
  const uintptr_t base = module_base();
  for (const auto& [pc, e] : g_launch.totals.blocks) r.basic_blocks[pc - base] = e;
  g_records.push_back(std::move(r));
  g_launch.totals.clear();
}

void access(const void* addr, unsigned size, bool write, uintptr_t pc) {
  if (!recording_here()) return;
  classify(reinterpret_cast<uintptr_t>(addr), size, write ? Kind::global_store : Kind::global_load,
           write ? Kind::shared_store : Kind::shared_load, pc, write);
}

void atomic_access(const void* addr, unsigned size, uintptr_t pc) {
  if (!recording_here()) return;
  classify(reinterpret_cast<uintptr_t>(addr), size, Kind::global_atomic, Kind::shared_atomic, pc, true);
}

void basic_block(uintptr_t pc) {
  if (!recording_here()) return;
  FiberTrace& f = *t_current.trace;
  f.occ = f.block_count.next(pc);
  f.events.push_back({pc, 0, f.occ, 0, Kind::block});
}

}  // namespace profile

void profile_register_global(const void* data, size_t bytes) {
  if (!profile::g_on || bytes == 0) return;
  std::lock_guard<std::mutex> lock(profile::g_mutex);
  const auto lo = reinterpret_cast<uintptr_t>(data);
  profile::g_buffers.emplace_back(lo, lo + bytes);
}

}  // namespace sinapse::sim
