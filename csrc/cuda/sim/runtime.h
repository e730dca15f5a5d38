// The simulator runtime's internal state, shared by its parts (not included by kernels;
// they see sim.h only):
//   fiber.cpp          the context switch, fiber stacks and a fiber's entry and exit
//   scheduler.cpp      a launch: blocks on OpenMP threads, a block's fibers in random rounds
//   barriers.cpp       __syncthreads and the warp rendezvous (shuffles, __syncwarp)
//   shared_memory.cpp  the per-block shared-memory arena and the race check on it
//   faults.cpp         guard pages for checked mode, and turning a kernel's fault into an error
#pragma once

#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../check.h"
#include "sim.h"

// sinapse_sim_switch(&save_sp, new_sp) (fiber.cpp): saves this context's callee-saved state on
// its stack, stores the stack pointer in *save_sp, and resumes the context saved at new_sp.
extern "C" void sinapse_sim_switch(void** save_sp, void* new_sp);

namespace sinapse::sim::internal {

// An error in a kernel (a broken rule of the CUDA model): caught at the fiber's entry or by the
// scheduler, never unwound across a context switch.
struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& what);
std::string where(const ThreadState& t);  // "block (x, y, z) thread (x, y, z)"

constexpr size_t kStaticSharedLimit = ::sinapse::cuda::sm90::kStaticSharedLimit;  // static __shared__ per block
inline size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// A fiber stack: mmap'd, with one PROT_NONE guard page below it, so an overflow faults at
// once instead of silently overwriting the next fiber's stack.
struct Stack {
  void* base = nullptr;
  size_t bytes = 0;
  explicit Stack(size_t usable);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  char* top() const { return static_cast<char*>(base) + bytes; }
};

enum class FiberState { runnable, at_barrier, at_warp, done };

struct Fiber {
  ThreadState t{};
  void* sp = nullptr;
  FiberState state = FiberState::runnable;
  // Barrier bookkeeping: where this fiber waits (for the divergent-barrier message).
  const char* bar_file = nullptr;
  int bar_line = 0;
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
  // The static shared memory this launch allows (check_launch): 48 KiB less the dynamic
  // shared memory without an opt-in; with one, at most 227 KiB less the opted-in maximum.
  size_t static_budget = kStaticSharedLimit;
  std::string static_rule;  // which limit static_budget comes from, for the error
  std::vector<std::pair<const void*, size_t>> statics;
  // Race check shadow, one cell per 4 bytes of the arena (only with the race check on).
  struct Shadow {
    int writer = -1, reader = -1;  // reader: -2 = several threads
    uint64_t write_epoch = ~0ULL, read_epoch = ~0ULL;
  };
  std::vector<Shadow> shadow;

  // Records the first error of the block (later ones are consequences of it).
  void fail_with(const std::string& what) {
    if (failed) return;
    failed = true;
    error = what;
  }
};

struct Worker {  // per OS thread
  std::vector<std::unique_ptr<Stack>> stacks;
  void* scheduler_sp = nullptr;
  Block* block = nullptr;
  Fiber* fiber = nullptr;
  uint64_t rng = 0;
  // Faults inside a fiber jump back to the scheduler through fault_env (faults.cpp).
  volatile sig_atomic_t in_fiber = 0;
  sigjmp_buf fault_env;
  char fault_message[256] = {};
  std::unique_ptr<char[]> signal_stack;
};

extern thread_local Worker tls;

// fiber.cpp
void* prepare_stack(Stack& s);  // a fresh stack whose first switch enters the block's body
void yield();                   // back to the scheduler; returns when resumed

// scheduler.cpp: the block's scheduling rounds until every fiber is done or one failed;
// `order` holds 0..n-1 (the caller owns it: a fault leaves schedule_block by siglongjmp).
void schedule_block(Block& b, std::vector<int>& order);

// barriers.cpp: releases the block's barrier once every live thread has reached it; throws
// KernelError for a divergent barrier or one awaited by exited threads.
void check_barrier(Block& b);

// faults.cpp: schedule_block with faults inside fibers caught; false when a kernel faulted
// (tls.fault_message says how).
void install_fault_handler();
bool schedule_catching_faults(Block& b, std::vector<int>& order);

}  // namespace sinapse::sim::internal
