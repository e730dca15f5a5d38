// The callbacks GCC's instrumentation calls in sinapse._cuda_prof's kernels (profiler.h): the
// ThreadSanitizer interface (-fsanitize=thread, with no TSan runtime linked: these definitions
// are the runtime) and the coverage callback (-fsanitize-coverage=trace-pc). Each forwards the
// access, or the basic block entered, with the address of the instrumented instruction (the
// return address of the call: one per instruction site, the key that groups lanes into warp
// instructions). Atomics must still happen, atomically: the simulator runs blocks on several OS
// threads. Only sinapse._cuda_prof links this file.
#include <cstddef>
#include <cstdint>

#include "profiler.h"

namespace prof = sinapse::sim::profile;

#define SINAPSE_PC reinterpret_cast<uintptr_t>(__builtin_return_address(0))

extern "C" {

void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}

// Plain, unaligned and volatile accesses of 1, 2, 4, 8 and 16 bytes.
#define SINAPSE_TSAN_ACCESS(N)                                                               \
  void __tsan_read##N(void* p) { prof::access(p, N, false, SINAPSE_PC); }                    \
  void __tsan_write##N(void* p) { prof::access(p, N, true, SINAPSE_PC); }                    \
  void __tsan_unaligned_read##N(void* p) { prof::access(p, N, false, SINAPSE_PC); }          \
  void __tsan_unaligned_write##N(void* p) { prof::access(p, N, true, SINAPSE_PC); }          \
  void __tsan_volatile_read##N(void* p) { prof::access(p, N, false, SINAPSE_PC); }           \
  void __tsan_volatile_write##N(void* p) { prof::access(p, N, true, SINAPSE_PC); }           \
  void __tsan_unaligned_volatile_read##N(void* p) { prof::access(p, N, false, SINAPSE_PC); } \
  void __tsan_unaligned_volatile_write##N(void* p) { prof::access(p, N, true, SINAPSE_PC); }
SINAPSE_TSAN_ACCESS(1)
SINAPSE_TSAN_ACCESS(2)
SINAPSE_TSAN_ACCESS(4)
SINAPSE_TSAN_ACCESS(8)
SINAPSE_TSAN_ACCESS(16)
#undef SINAPSE_TSAN_ACCESS

// memcpy-like copies (structs by value): one access per 16 bytes, as vector loads would move them.
void __tsan_read_range(void* p, size_t n) {
  for (size_t i = 0; i < n; i += 16)
    prof::access(static_cast<char*>(p) + i, static_cast<unsigned>(n - i < 16 ? n - i : 16), false, SINAPSE_PC);
}
void __tsan_write_range(void* p, size_t n) {
  for (size_t i = 0; i < n; i += 16)
    prof::access(static_cast<char*>(p) + i, static_cast<unsigned>(n - i < 16 ? n - i : 16), true, SINAPSE_PC);
}

// Atomics (the memory-order arguments use TSan's encoding; relaxed is all sim.h uses, and a
// stronger order is always correct here).
#define SINAPSE_TSAN_ATOMICS(BITS, T)                                                              \
  T __tsan_atomic##BITS##_load(const volatile T* a, int) {                                         \
    prof::atomic_access(const_cast<T*>(a), sizeof(T), SINAPSE_PC);                                 \
    return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                                   \
  }                                                                                                \
  void __tsan_atomic##BITS##_store(volatile T* a, T v, int) {                                      \
    prof::atomic_access(const_cast<T*>(a), sizeof(T), SINAPSE_PC);                                 \
    __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                                      \
  }                                                                                                \
  T __tsan_atomic##BITS##_exchange(volatile T* a, T v, int) {                                      \
    prof::atomic_access(const_cast<T*>(a), sizeof(T), SINAPSE_PC);                                 \
    return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                            \
  }                                                                                                \
  T __tsan_atomic##BITS##_fetch_add(volatile T* a, T v, int) {                                     \
    prof::atomic_access(const_cast<T*>(a), sizeof(T), SINAPSE_PC);                                 \
    return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                             \
  }                                                                                                \
  T __tsan_atomic##BITS##_fetch_sub(volatile T* a, T v, int) {                                     \
    prof::atomic_access(const_cast<T*>(a), sizeof(T), SINAPSE_PC);                                 \
    return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                             \
  }                                                                                                \
  int __tsan_atomic##BITS##_compare_exchange_strong(volatile T* a, T* expected, T v, int, int) {   \
    prof::atomic_access(const_cast<T*>(a), sizeof(T), SINAPSE_PC);                                 \
    return __atomic_compare_exchange_n(a, expected, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
  }                                                                                                \
  int __tsan_atomic##BITS##_compare_exchange_weak(volatile T* a, T* expected, T v, int, int) {     \
    prof::atomic_access(const_cast<T*>(a), sizeof(T), SINAPSE_PC);                                 \
    return __atomic_compare_exchange_n(a, expected, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
  }                                                                                                \
  T __tsan_atomic##BITS##_compare_exchange_val(volatile T* a, T expected, T v, int, int) {         \
    prof::atomic_access(const_cast<T*>(a), sizeof(T), SINAPSE_PC);                                 \
    __atomic_compare_exchange_n(a, &expected, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);       \
    return expected;                                                                               \
  }
SINAPSE_TSAN_ATOMICS(8, int8_t)
SINAPSE_TSAN_ATOMICS(16, int16_t)
SINAPSE_TSAN_ATOMICS(32, int32_t)
SINAPSE_TSAN_ATOMICS(64, int64_t)
#undef SINAPSE_TSAN_ATOMICS

void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

void __sanitizer_cov_trace_pc() { prof::basic_block(SINAPSE_PC); }

}  // extern "C"
