// The simulator's runtime: fibers, the block scheduler, barriers, warp rendezvous, shared
// memory and error propagation. See sim.h for the model and the checks.
#include "sim.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../../common/parallel_errors.h"
#include "../../common/threading.h"

// ---- context switch -------------------------------------------------------------------------
// sinapse_sim_switch(&save_sp, new_sp): saves the callee-saved registers, the SSE control
// word and the x87 control word on the current stack, stores the stack pointer in *save_sp,
// then restores the same from new_sp and returns into that context. No system calls (unlike
// swapcontext, which saves the signal mask), so a switch costs a few nanoseconds.
#if defined(__x86_64__)
extern "C" void sinapse_sim_switch(void** save_sp, void* new_sp);
asm(R"(
.text
.p2align 4
.globl sinapse_sim_switch
.hidden sinapse_sim_switch
.type sinapse_sim_switch,@function
sinapse_sim_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size sinapse_sim_switch,.-sinapse_sim_switch
)");
#else
#error \
    "the SIMT simulator's context switch is written for x86-64 (add one for this CPU, or build with SINAPSE_CUDA_SIM=OFF)"
#endif

namespace sinapse::sim {

namespace {

struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

size_t g_stack_bytes = 128 * 1024;
std::atomic<bool> g_racecheck{false};
std::mutex g_last_mutex;
std::string g_last_launch;
std::atomic<uint64_t> g_seed{12345};

// A fiber stack: mmap'd, with one PROT_NONE guard page below it, so an overflow faults at
// once instead of silently overwriting the next fiber's stack.
struct Stack {
  void* base = nullptr;
  size_t bytes = 0;
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  explicit Stack(size_t usable) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    bytes = (usable + page - 1) / page * page + page;
    base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    mprotect(base, page, PROT_NONE);
  }
  ~Stack() { munmap(base, bytes); }
  char* top() const { return static_cast<char*>(base) + bytes; }
};

enum class FiberState { runnable, at_barrier, at_warp, done };

struct Fiber {
  ThreadState t{};
  void* sp = nullptr;
  FiberState state = FiberState::runnable;
  // Barrier bookkeeping.
  const char* bar_file = nullptr;
  int bar_line = 0;
  uint64_t bar_generation = 0;
};

// A warp rendezvous in two phases: lanes deposit values until all lanes of the mask have
// arrived, then every lane reads; the next exchange starts only when all have read.
struct Warp {
  bool reading = false;
  int arrived = 0, read = 0;
  unsigned mask = 0;
  uint64_t generation = 0;
  uint64_t values[32] = {};
};

// Everything about the block running on this OS thread.
struct Block {
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
  int live = 0;
  int at_barrier = 0;
  uint64_t events = 0;  // bumped by every arrival, release and exit: no change in a round = deadlock
  uint64_t bar_generation = 0;
  const std::function<void()>* body = nullptr;
  std::string error;  // first error, with thread indices
  bool failed = false;
  // Shared memory: one arena, poisoned before the block starts; static arrays are carved
  // from it in order of first use, keyed by the address of a per-declaration static.
  std::vector<unsigned char> arena;
  size_t dynamic_bytes = 0, used = 0;
  std::vector<std::pair<const void*, size_t>> statics;
  // Race check shadow, one cell per 4 bytes of the arena (only with the race check on).
  struct Shadow {
    int writer = -1, reader = -1;  // reader: -2 = several threads
    uint64_t write_epoch = ~0ULL, read_epoch = ~0ULL;
  };
  std::vector<Shadow> shadow;
};

struct Worker {  // per OS thread
  std::vector<std::unique_ptr<Stack>> stacks;
  void* scheduler_sp = nullptr;
  Block* block = nullptr;
  Fiber* fiber = nullptr;
  uint64_t rng = 0;
  // Faults inside a fiber jump back to the scheduler through fault_env (see on_fault).
  volatile sig_atomic_t in_fiber = 0;
  sigjmp_buf fault_env;
  char fault_message[256] = {};
  std::unique_ptr<char[]> signal_stack;
};

thread_local Worker tls;

void install_fault_handler();
bool schedule_catching_faults(Block& b, int n, std::vector<int>& order);
constexpr size_t kStaticSharedLimit = 48 * 1024;  // CUDA's static __shared__ limit per block

uint64_t next_random() {  // xorshift64*
  uint64_t x = tls.rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  tls.rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

std::string where(const ThreadState& t) {
  return "block (" + std::to_string(t.block_idx.x) + ", " + std::to_string(t.block_idx.y) + ", " +
         std::to_string(t.block_idx.z) + ") thread (" + std::to_string(t.thread_idx.x) + ", " +
         std::to_string(t.thread_idx.y) + ", " + std::to_string(t.thread_idx.z) + ")";
}

[[noreturn]] void fail(const std::string& what) { throw KernelError(what); }

// Back to the scheduler; returns when the scheduler resumes this fiber.
void yield() { sinapse_sim_switch(&tls.fiber->sp, tls.scheduler_sp); }

[[noreturn]] void fiber_entry() {
  Block& b = *tls.block;
  try {
    (*b.body)();
  } catch (const std::exception& e) {
    if (!b.failed) {
      b.failed = true;
      b.error = where(tls.fiber->t) + ": " + e.what();
    }
  } catch (...) {
    if (!b.failed) {
      b.failed = true;
      b.error = where(tls.fiber->t) + ": unknown exception";
    }
  }
  tls.fiber->state = FiberState::done;
  --b.live;
  ++b.events;
  void* dead_sp;
  sinapse_sim_switch(&dead_sp, tls.scheduler_sp);  // never resumed
  std::abort();
}

// Lays out a fresh stack so that switching to it "returns" into fiber_entry.
void* prepare_stack(Stack& s) {
  uintptr_t top = reinterpret_cast<uintptr_t>(s.top()) & ~uintptr_t(15);
  auto* sp = reinterpret_cast<uint64_t*>(top - 72);  // see sinapse_sim_switch's frame
  uint32_t mxcsr;
  uint16_t fpucw;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(fpucw));
  std::memcpy(reinterpret_cast<char*>(sp), &mxcsr, 4);
  std::memcpy(reinterpret_cast<char*>(sp) + 4, &fpucw, 2);
  for (int i = 1; i <= 6; ++i) sp[i] = 0;            // r15, r14, r13, r12, rbx, rbp
  sp[7] = reinterpret_cast<uint64_t>(&fiber_entry);  // return address
  sp[8] = 0;                                         // fiber_entry's (never used) return address
  return sp;
}

// Releases a barrier when every live thread of the block has reached it.
void check_barrier(Block& b) {
  if (b.at_barrier == 0) return;
  const int total = static_cast<int>(b.fibers.size());
  if (b.live < total) {
    for (const Fiber& f : b.fibers)
      if (f.state == FiberState::at_barrier)
        fail("__syncthreads at " + std::string(f.bar_file) + ":" + std::to_string(f.bar_line) + " is awaited while " +
             std::to_string(total - b.live) +
             " thread(s) of the block have already exited (undefined behaviour on a GPU)");
  }
  if (b.at_barrier == b.live) {
    const Fiber* first = nullptr;
    for (Fiber& f : b.fibers) {
      if (f.state != FiberState::at_barrier) continue;
      if (!first) {
        first = &f;
      } else if (f.bar_line != first->bar_line || std::strcmp(f.bar_file, first->bar_file) != 0) {
        fail("divergent __syncthreads: " + where(first->t) + " waits at " + first->bar_file + ":" +
             std::to_string(first->bar_line) + " but " + where(f.t) + " at " + f.bar_file + ":" +
             std::to_string(f.bar_line));
      }
    }
    for (Fiber& f : b.fibers)
      if (f.state == FiberState::at_barrier) f.state = FiberState::runnable;
    b.at_barrier = 0;
    ++b.bar_generation;
    ++b.events;
  }
}

bool schedule_block(Block& b, int n, std::vector<int>& order) {
  b.events = 0;
  while (b.live > 0 && !b.failed) {
    // One round: resume every runnable fiber once, in a fresh random order.
    for (int i = n - 1; i > 0; --i) std::swap(order[i], order[next_random() % (i + 1)]);
    const uint64_t events_before = b.events;
    for (int idx : order) {
      Fiber& f = b.fibers[idx];
      if (f.state == FiberState::at_barrier || f.state == FiberState::done) continue;
      tls.fiber = &f;
      tls.in_fiber = 1;
      sinapse_sim_switch(&tls.scheduler_sp, f.sp);
      tls.in_fiber = 0;
      if (b.failed) break;
    }
    if (b.failed) break;
    try {
      check_barrier(b);
    } catch (const KernelError& e) {
      b.failed = true;
      b.error = e.what();
      break;
    }
    if (b.live > 0 && b.events == events_before) {
      b.failed = true;
      b.error =
          "deadlock: every live thread of the block waits (at __syncthreads or a warp operation) "
          "for threads that will never arrive";
    }
  }
  return true;
}

void run_block(dim3 grid, dim3 block_dim, uint3 block_idx, size_t dynamic_shared, const std::function<void()>& body,
               Block& b) {
  const int n = static_cast<int>(block_dim.x * block_dim.y * block_dim.z);
  const int n_warps = (n + 31) / 32;
  b.fibers.assign(n, Fiber{});
  b.warps.assign(n_warps, Warp{});
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

  tls.block = &b;
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  install_fault_handler();
  if (!schedule_catching_faults(b, n, order)) {
    b.failed = true;
    b.error = where(tls.fiber->t) + ": " + tls.fault_message;
  }
  tls.block = nullptr;
  tls.fiber = nullptr;
}

// ---- guard pages and faults -----------------------------------------------------------------
struct Region {
  uintptr_t map_begin, map_end;    // the whole mapping
  uintptr_t data_begin, data_end;  // the user's bytes
};
constexpr int kMaxRegions = 4096;
Region g_regions[kMaxRegions];  // read by the signal handler: fixed storage, no locks
std::atomic<int> g_region_count{0};
std::mutex g_region_mutex;

size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }
constexpr unsigned char kCanary = 0xA5;

// Writes "<what> ... <n> bytes ..." into the fault message without allocating.
void describe_fault(uintptr_t addr, char* out, size_t cap) {
  const int n = g_region_count.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    const Region& r = g_regions[i];
    if (r.map_begin == 0 || addr < r.map_begin || addr >= r.map_end) continue;
    if (addr >= r.data_end)
      std::snprintf(out, cap, "out-of-bounds global memory access %lu bytes past the end of a %lu-byte buffer",
                    static_cast<unsigned long>(addr - r.data_end),
                    static_cast<unsigned long>(r.data_end - r.data_begin));
    else
      std::snprintf(out, cap, "out-of-bounds global memory access %lu bytes before the start of a %lu-byte buffer",
                    static_cast<unsigned long>(r.data_begin - addr),
                    static_cast<unsigned long>(r.data_end - r.data_begin));
    return;
  }
  for (const auto& st : tls.stacks) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(st->base);
    if (addr >= base && addr < base + page_size()) {
      std::snprintf(out, cap,
                    "fiber stack overflow (stack %lu bytes; raise it with _cuda_sim.configure(seed, stack_kib))",
                    static_cast<unsigned long>(st->bytes - page_size()));
      return;
    }
  }
  std::snprintf(out, cap, "invalid memory access at address 0x%lx", static_cast<unsigned long>(addr));
}

struct sigaction g_previous_segv, g_previous_bus;

void on_fault(int sig, siginfo_t* info, void* ctx) {
  if (tls.in_fiber) {  // a kernel faulted: abandon the block, report it
    describe_fault(reinterpret_cast<uintptr_t>(info->si_addr), tls.fault_message, sizeof tls.fault_message);
    tls.in_fiber = 0;
    siglongjmp(tls.fault_env, 1);
  }
  // Not a kernel: behave as if we were not here.
  const struct sigaction& prev = sig == SIGSEGV ? g_previous_segv : g_previous_bus;
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(sig, info, ctx);
  } else if (prev.sa_handler != SIG_IGN && prev.sa_handler != SIG_DFL) {
    prev.sa_handler(sig);
  } else {
    signal(sig, SIG_DFL);
    raise(sig);
  }
}

void install_fault_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa{};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
    sigaction(SIGBUS, &sa, &g_previous_bus);
  });
  if (!tls.signal_stack) {  // a fiber stack overflow needs another stack to report on
    constexpr size_t kBytes = 64 * 1024;
    tls.signal_stack.reset(new char[kBytes]);
    stack_t ss{};
    ss.ss_sp = tls.signal_stack.get();
    ss.ss_size = kBytes;
    sigaltstack(&ss, nullptr);
  }
}

// Runs the block's scheduling rounds; false when a kernel faulted (the fault message set).
bool schedule_block(Block& b, int n, std::vector<int>& order);

bool schedule_catching_faults(Block& b, int n, std::vector<int>& order) {
  if (sigsetjmp(tls.fault_env, 1)) return false;
  return schedule_block(b, n, order);
}

}  // namespace

void* guarded_alloc(size_t bytes) {
  const size_t page = page_size();
  const size_t data_pages = (bytes + page - 1) / page;
  const size_t map_bytes = (data_pages + 2) * page;
  void* base = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t b = reinterpret_cast<uintptr_t>(base);
  mprotect(base, page, PROT_NONE);                                                  // guard before
  mprotect(reinterpret_cast<void*>(b + (data_pages + 1) * page), page, PROT_NONE);  // guard after
  const uintptr_t data_end = b + (data_pages + 1) * page;
  const uintptr_t data_begin = data_end - bytes;  // the last byte touches the guard page
  // The slack between the first page's start and the data is filled with a canary that
  // guarded_intact() checks: a write before the start is caught after the launch.
  std::memset(reinterpret_cast<void*>(b + page), kCanary, data_begin - (b + page));
  std::lock_guard<std::mutex> lock(g_region_mutex);
  int slot = -1;
  const int n = g_region_count.load();
  for (int i = 0; i < n && slot < 0; ++i)
    if (g_regions[i].map_begin == 0) slot = i;
  if (slot < 0) {
    if (n == kMaxRegions) {
      munmap(base, map_bytes);
      throw std::runtime_error("guarded_alloc: too many guarded buffers alive");
    }
    slot = n;
  }
  g_regions[slot] = {b, b + map_bytes, data_begin, data_end};
  if (slot == n) g_region_count.store(n + 1, std::memory_order_release);
  return reinterpret_cast<void*>(data_begin);
}

bool guarded_intact(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_region_mutex);
  const int n = g_region_count.load();
  for (int i = 0; i < n; ++i) {
    const Region& r = g_regions[i];
    if (r.map_begin == 0 || r.data_begin != a) continue;
    for (uintptr_t q = r.map_begin + page_size(); q < r.data_begin; ++q)
      if (*reinterpret_cast<const unsigned char*>(q) != kCanary) return false;
    return true;
  }
  throw std::invalid_argument("guarded_intact: not a guarded buffer");
}

void guarded_free(void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_region_mutex);
  const int n = g_region_count.load();
  for (int i = 0; i < n; ++i) {
    Region& r = g_regions[i];
    if (r.map_begin != 0 && r.data_begin == a) {
      munmap(reinterpret_cast<void*>(r.map_begin), r.map_end - r.map_begin);
      r.map_begin = r.map_end = 0;
      return;
    }
  }
}

ThreadState& current() {
  if (!tls.fiber) throw std::logic_error("sinapse sim: device code called outside a kernel launch");
  return tls.fiber->t;
}

void syncthreads(const char* file, int line) {
  Block& b = *tls.block;
  Fiber& f = *tls.fiber;
  f.state = FiberState::at_barrier;
  f.bar_file = file;
  f.bar_line = line;
  ++b.at_barrier;
  ++b.events;
  const uint64_t gen = b.bar_generation;
  while (b.bar_generation == gen) {
    yield();
    if (b.failed) fail("block aborted");
  }
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane, const char* op) {
  Block& b = *tls.block;
  Fiber& f = *tls.fiber;
  const int lane = f.t.linear & 31, warp_base = f.t.linear & ~31;
  const int warp_size = std::min(32, static_cast<int>(b.fibers.size()) - warp_base);
  const std::string name(op);
  if (!((mask >> lane) & 1u)) fail(name + ": the calling lane " + std::to_string(lane) + " is not in the mask");
  if (warp_size < 32 && (mask >> warp_size) != 0) fail(name + ": the mask names lanes beyond the block's last thread");
  if (src_lane < 0 || src_lane >= 32 || !((mask >> src_lane) & 1u))
    fail(name + ": source lane " + std::to_string(src_lane) + " is not in the mask");
  Warp& w = b.warps[warp_base / 32];
  auto wait = [&](auto ready) {
    f.state = FiberState::at_warp;
    while (!ready()) {
      for (int l = 0; l < warp_size; ++l)
        if (((mask >> l) & 1u) && b.fibers[warp_base + l].state == FiberState::done)
          fail(name + ": lane " + std::to_string(l) + " of the mask has already exited");
      yield();
      if (b.failed) fail("block aborted");
    }
    f.state = FiberState::runnable;
  };
  wait([&] { return !w.reading; });  // the previous exchange is still being read
  if (w.arrived == 0) {
    w.mask = mask;
  } else if (w.mask != mask) {
    fail(name + ": lanes of one warp disagree on the mask");
  }
  w.values[lane] = value;
  ++w.arrived;
  ++b.events;
  const uint64_t gen = w.generation;
  if (w.arrived == __builtin_popcount(mask)) {
    w.reading = true;
    w.read = 0;
  }
  wait([&] { return w.reading && w.generation == gen; });
  const uint64_t result = w.values[src_lane];
  if (++w.read == __builtin_popcount(mask)) {  // the last reader opens the next exchange
    w.reading = false;
    w.arrived = 0;
    ++w.generation;
  }
  ++b.events;
  return result;
}

void syncwarp(unsigned mask) { (void)warp_exchange(mask, 0, __builtin_ctz(mask ? mask : 1u), "__syncwarp"); }

void* shared_static_bytes(const void* key, size_t bytes, size_t align) {
  Block& b = *tls.block;
  for (const auto& [k, offset] : b.statics)
    if (k == key) return b.arena.data() + offset;
  size_t offset = (b.used + align - 1) / align * align;
  if (offset + bytes > b.arena.size())
    fail("static shared memory of the block exceeds " + std::to_string(kStaticSharedLimit) + " bytes");
  b.statics.emplace_back(key, offset);
  b.used = offset + bytes;
  return b.arena.data() + offset;
}

void* shared_dynamic() {
  Block& b = *tls.block;
  return b.dynamic_bytes ? b.arena.data() : nullptr;
}

std::string last_launch() {
  std::lock_guard<std::mutex> lock(g_last_mutex);
  return g_last_launch;
}

void set_seed(uint64_t seed) { g_seed = seed ? seed : 1; }
void set_racecheck(bool on) { g_racecheck = on; }

namespace {
std::string thread_name(int linear) {
  const Fiber& f = tls.block->fibers[linear];
  return "thread (" + std::to_string(f.t.thread_idx.x) + ", " + std::to_string(f.t.thread_idx.y) + ", " +
         std::to_string(f.t.thread_idx.z) + ")";
}

// The shadow cells an access covers; empty when the race check is off.
std::pair<Block::Shadow*, size_t> shadow_of(const void* element, size_t bytes) {
  Block& b = *tls.block;
  if (b.shadow.empty()) return {nullptr, 0};
  const size_t offset = static_cast<const unsigned char*>(element) - b.arena.data();
  return {&b.shadow[offset / 4], (bytes + 3) / 4};
}

// Another thread wrote this cell since the last barrier: a race for any access by `me`.
void check_unordered_write(const Block::Shadow& c, uint64_t epoch, int me, const char* name, const char* verb) {
  if (c.write_epoch == epoch && c.writer != me)
    fail("shared-memory race on `" + std::string(name) + "`: " + thread_name(me) + " " + verb + " what " +
         thread_name(c.writer) + " wrote, with no __syncthreads in between");
}
}  // namespace

void shared_read(const void* element, size_t bytes, const char* name) {
  auto [cells, n] = shadow_of(element, bytes);
  const Block& b = *tls.block;
  const int me = tls.fiber->t.linear;
  for (size_t i = 0; i < n; ++i) {
    Block::Shadow& c = cells[i];
    check_unordered_write(c, b.bar_generation, me, name, "reads");
    if (c.read_epoch != b.bar_generation) {
      c.reader = me;
      c.read_epoch = b.bar_generation;
    } else if (c.reader != me) {
      c.reader = -2;
    }
  }
}

void shared_write(const void* element, size_t bytes, const char* name) {
  auto [cells, n] = shadow_of(element, bytes);
  const Block& b = *tls.block;
  const int me = tls.fiber->t.linear;
  for (size_t i = 0; i < n; ++i) {
    Block::Shadow& c = cells[i];
    check_unordered_write(c, b.bar_generation, me, name, "overwrites");
    if (c.read_epoch == b.bar_generation && c.reader != me)
      fail("shared-memory race on `" + std::string(name) + "`: " + thread_name(me) + " overwrites what " +
           (c.reader == -2 ? std::string("other threads") : thread_name(c.reader)) +
           " read, with no __syncthreads in between");
    c.writer = me;
    c.write_epoch = b.bar_generation;
  }
}

void shared_index_error(const char* name, int64_t index, size_t extent) {
  fail("shared-memory index " + std::to_string(index) + " out of bounds [0, " + std::to_string(extent) + ") of `" +
       name + "`");
}
void set_stack_bytes(size_t bytes) { g_stack_bytes = std::max<size_t>(bytes, 64 * 1024); }

void run_grid(const std::string& launch_desc, dim3 grid, dim3 block, size_t dynamic_shared,
              const std::function<void()>& body) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64)
    throw std::runtime_error("CUDA kernel " + launch_desc + ": invalid block shape (at most 1024 threads, z <= 64)");
  if (dynamic_shared > 227 * 1024)
    throw std::runtime_error("CUDA kernel " + launch_desc + ": dynamic shared memory beyond 227 KiB");
  {
    std::lock_guard<std::mutex> lock(g_last_mutex);
    g_last_launch = launch_desc;
  }
  const int64_t n_blocks = int64_t(grid.x) * grid.y * grid.z;
  const uint64_t seed = g_seed.load();
  std::string first_error;
  std::atomic<bool> stop{false};
  const int nthreads = threads_for(static_cast<double>(n_blocks) * threads, 4096);
  ParallelErrors errors;
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    Block b;
#pragma omp for schedule(dynamic, 1)
    for (int64_t id = 0; id < n_blocks; ++id) {
      if (stop.load(std::memory_order_relaxed)) continue;
      const uint3 idx{static_cast<unsigned>(id % grid.x), static_cast<unsigned>((id / grid.x) % grid.y),
                      static_cast<unsigned>(id / (int64_t(grid.x) * grid.y))};
      tls.rng = (seed ^ (0x9E3779B97F4A7C15ULL * (id + 1))) | 1;  // per block: reproducible with any threads
      // Setting up a block allocates (fiber stacks, shared memory): a std::bad_alloc there
      // must not escape the OpenMP region, so it is carried out and rethrown below.
      if (!errors.run([&] { run_block(grid, block, idx, dynamic_shared, body, b); })) {
        stop = true;
        continue;
      }
      if (b.failed) {
#pragma omp critical(sinapse_sim_error)
        if (first_error.empty()) first_error = b.error;
        stop = true;
      }
    }
  }
  errors.rethrow();
  if (!first_error.empty())
    throw std::runtime_error("CUDA kernel " + launch_desc + " failed in the simulator: " + first_error);
}

}  // namespace sinapse::sim
