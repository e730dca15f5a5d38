// Fibers: every CUDA thread of a block runs on its own stack, and control moves between a
// fiber and its block's scheduler with sinapse_sim_switch — a user-space context switch, no
// system calls (unlike swapcontext, which saves the signal mask), a few nanoseconds each.
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

#include "runtime.h"

// ---- the context switch ----------------------------------------------------------------------
// Saves the callee-saved registers, the SSE control word (MXCSR: rounding, flush-to-zero) and
// the x87 control word on the current stack, stores the stack pointer in *save_sp, then
// restores the same from new_sp and returns into that context. prepare_stack lays out a
// fresh stack in this frame's format.
#if defined(__x86_64__)
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

namespace sinapse::sim::internal {

Stack::Stack(size_t usable) {
  const size_t page = page_size();
  bytes = (usable + page - 1) / page * page + page;
  base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  mprotect(base, page, PROT_NONE);
}

Stack::~Stack() { munmap(base, bytes); }

void yield() { sinapse_sim_switch(&tls.fiber->sp, tls.scheduler_sp); }

namespace {

// A fiber's whole life: the kernel body, then back to the scheduler for good. Exceptions stop
// here (the first one is the block's error): none may unwind across a context switch.
[[noreturn]] void fiber_entry() {
  Block& b = *tls.block;
  try {
    (*b.body)();
  } catch (const std::exception& e) {
    b.fail_with(where(tls.fiber->t) + ": " + e.what());
  } catch (...) {
    b.fail_with(where(tls.fiber->t) + ": unknown exception");
  }
  tls.fiber->state = FiberState::done;
  --b.live;
  ++b.events;
  void* dead_sp;
  sinapse_sim_switch(&dead_sp, tls.scheduler_sp);  // never resumed
  std::abort();
}

}  // namespace

// The frame sinapse_sim_switch pops, from the stack pointer up: MXCSR and x87 control word
// (8 bytes, the launching thread's, so kernels see its rounding and denormal modes), r15, r14,
// r13, r12, rbx, rbp, then the return address — fiber_entry — and a slot for fiber_entry's
// own (never used) return address.
void* prepare_stack(Stack& s) {
  uintptr_t top = reinterpret_cast<uintptr_t>(s.top()) & ~uintptr_t(15);
  auto* sp = reinterpret_cast<uint64_t*>(top - 72);
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

}  // namespace sinapse::sim::internal
