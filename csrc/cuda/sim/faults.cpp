// Faults: checked mode's guarded buffers (guard pages after and before, canary bytes in the
// slack before the data), and the SIGSEGV/SIGBUS handler that, while a fiber runs, turns a
// fault — a guard page, a fiber stack's guard page, any invalid address — into the block's
// error: it leaves the kernel with siglongjmp to the scheduler (schedule_catching_faults).
// Outside kernels the previous handler runs, as if this one were not installed.
#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>

#include "runtime.h"

namespace sinapse::sim {

namespace internal {

namespace {

struct Region {
  uintptr_t map_begin, map_end;    // the whole mapping
  uintptr_t data_begin, data_end;  // the user's bytes
};
constexpr int kMaxRegions = 4096;
Region g_regions[kMaxRegions];  // read by the signal handler: fixed storage, no locks
std::atomic<int> g_region_count{0};
std::mutex g_region_mutex;
constexpr unsigned char kCanary = 0xA5;

// Writes "<what> ... <n> bytes ..." into out without allocating (called in the signal handler).
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

// The slot of a new region in g_regions (a freed one, or the next); called with the mutex held.
int free_region_slot() {
  const int n = g_region_count.load();
  for (int i = 0; i < n; ++i)
    if (g_regions[i].map_begin == 0) return i;
  return n < kMaxRegions ? n : -1;
}

}  // namespace

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

bool schedule_catching_faults(Block& b, std::vector<int>& order) {
  if (sigsetjmp(tls.fault_env, 1)) return false;
  schedule_block(b, order);
  return true;
}

}  // namespace internal

using namespace internal;

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
  const int slot = free_region_slot();
  if (slot < 0) {
    munmap(base, map_bytes);
    throw std::runtime_error("guarded_alloc: too many guarded buffers alive");
  }
  const int n = g_region_count.load();
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

}  // namespace sinapse::sim
