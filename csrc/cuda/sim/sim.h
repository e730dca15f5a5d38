// The SIMT simulator: enough of the CUDA programming model, in plain C++, to run sinapse's
// .cu kernels on the CPU (built into sinapse._cuda_sim with -DSINAPSE_SIM).
//
// Model. A launch runs its blocks in parallel on OpenMP threads; inside a block every CUDA
// thread is a fiber with its own stack (mmap'd, with a guard page). A fiber runs until it
// reaches a synchronisation point (__syncthreads, __syncwarp, a warp shuffle), where it
// yields to the block's scheduler; the scheduler resumes fibers in a seeded random order,
// so nothing runs in lockstep and code that silently assumes lockstep warps fails here as
// it could on a GPU. Each block gets fresh shared memory filled with a poison pattern
// (0xFF bytes: NaN floats, -1 ints).
//
// Checks (each becomes a C++ exception, rethrown on the launching thread with the kernel,
// block and thread; then a Python RuntimeError):
//   - __syncthreads reached at different places by threads of one block (divergent barrier),
//     or awaited while other threads of the block have exited;
//   - a warp operation whose calling lane is not in its mask, whose source lane is outside
//     the mask, or whose lanes disagree on the mask; a deadlock of any kind;
//   - shared memory beyond what the block declared; every launch limit of sm_90 (grid and
//     block shape, registers per block from nvcc's table, dynamic shared memory above 48 KiB
//     without the kernel's opt-in, static shared memory above 48 KiB or above what the
//     dynamic part leaves), as a GPU refuses such a launch (check_launch in scheduler.cpp).
//   - in checked mode, global-memory accesses past the end of the launch's buffers (guard
//     pages) and writes before their start (canary bytes), see guarded_alloc; and any
//     fault inside a kernel, including a fiber stack overflow.
//   - static shared memory indexed out of its declared bounds, always; and shared-memory
//     races (two threads, one element, no barrier between, one of them writing) with the
//     race check on (see SharedView below and docs/ARCHITECTURE.md, "The SIMT simulator").
//
// Maths: exact, as in the real build; the approximate intrinsics are models of the GPU's
// (intrinsics.h). The runtime behind these declarations is described in runtime.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <iterator>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <utility>

// ---- host-side runtime surface used by check.h / the bindings ---------------------------
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};
using cudaStream_t = void*;
enum cudaError_t { cudaSuccess = 0, cudaErrorLaunchFailure = 719 };
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorName(cudaError_t e) {
  return e == cudaSuccess ? "cudaSuccess" : "cudaErrorLaunchFailure";
}
inline const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : "simulated launch failure";
}

// ---- qualifiers ---------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)

namespace sinapse::sim {

struct ThreadState {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  int linear;  // x + y*bx + z*bx*by: the lane is linear % 32, the warp linear / 32
};

// The CUDA thread running on this OS thread now (set by the scheduler at every switch).
ThreadState& current();

void syncthreads(const char* file, int line);
void syncwarp(unsigned mask);
// Warp rendezvous: every lane in `mask` deposits `value`; each gets back the value of lane
// `src_lane` of its own group (width), as a 64-bit pattern.
uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane, const char* op);

void* shared_static_bytes(const void* key, size_t bytes, size_t align);
void* shared_dynamic();

template <typename A>
A* shared_static(const void* key) {
  return static_cast<A*>(shared_static_bytes(key, sizeof(A), alignof(A) < 16 ? 16 : alignof(A)));
}

// Where a launch keeps its kernel's arguments (what a GPU holds in its constant bank): the
// profiler does not count the kernel's reads of them as memory traffic.
struct ParamRange {
  const void* lo = nullptr;
  const void* hi = nullptr;
};

// Runs `body` for every thread of every block (see the header comment); throws on error,
// and for a launch past a limit of sm_90 (check_launch in scheduler.cpp). `kernel` identifies
// the kernel for its dynamic shared-memory opt-in (set_max_dynamic_shared).
void run_grid(const std::string& launch, dim3 grid, dim3 block, size_t dynamic_shared,
              const std::function<void()>& body, const void* kernel = nullptr, ParamRange params = {});

// The profiler (simulate(profile=True), profiler.h): a buffer an op hands its kernels, whose
// accesses count as global memory. A no-op when not profiling.
void profile_register_global(const void* data, size_t bytes);

template <typename... KernelArgs, typename... Args>
void launch(const std::string& launch_desc, void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t dynamic_shared,
            Args&&... args) {
  std::tuple<KernelArgs...> bound(std::forward<Args>(args)...);
  const std::function<void()> body = [&] { std::apply(kernel, bound); };
  // The arguments, the kernel pointer and the body reaching them, all in this frame.
  const char* ends[] = {reinterpret_cast<const char*>(&kernel), reinterpret_cast<const char*>(&kernel + 1),
                        reinterpret_cast<const char*>(&bound),  reinterpret_cast<const char*>(&bound + 1),
                        reinterpret_cast<const char*>(&body),   reinterpret_cast<const char*>(&body + 1)};
  const auto [lo, hi] = std::minmax_element(std::begin(ends), std::end(ends));
  run_grid(launch_desc, grid, block, dynamic_shared, body, reinterpret_cast<const void*>(kernel), ParamRange{*lo, *hi});
}

// The launch description (kernel<<<grid, block, shared>>>) of the most recent launch from
// this process: lets tests and students see which kernel an op ran.
std::string last_launch();

// Checked mode for global memory: buffers whose last byte sits right before a PROT_NONE
// page (and whose first byte right after one). A kernel reading or writing past either end
// faults; the simulator turns the fault into an error naming the kernel, block, thread and
// how far outside the buffer the access was. (Guard pages, not bounds-checked pointers:
// kernels keep their raw pointers; sinapse.cuda.simulate(checked=True) copies arguments
// into such buffers.) Accesses that land inside another valid allocation are not caught.
// A write before the start of a buffer lands in the canary bytes below it (reads there are
// not caught); guarded_intact() tells whether they are untouched.
void* guarded_alloc(size_t bytes);
bool guarded_intact(const void* p);
void guarded_free(void* p);

// Simulator settings (sinapse._cuda_sim.configure).
void set_seed(uint64_t seed);
void set_stack_bytes(size_t bytes);
void set_racecheck(bool on);

// Launch limits (scheduler.cpp, check_launch). Registers per thread of each kernel, by launch
// name (the first argument of launch()), from nvcc's resource table
// (sinapse/data/cuda_resources_sm90.json, loaded by sinapse.cuda); a kernel missing from the
// table is not checked for registers.
void set_kernel_registers(const std::map<std::string, int>& registers);
std::map<std::string, int> kernel_registers();
// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), as
// launch.cuh's allow_dynamic_shared calls it; 0 puts the kernel back to CUDA's default.
void set_max_dynamic_shared(const void* kernel, size_t bytes);
// Test hook: launchers that split work over several launches (launch.cuh, grid_chunk) put at
// most min(limit, extent) blocks along a dimension; 0 = the real limits.
void set_grid_chunk(int64_t extent);
int64_t grid_chunk(int64_t limit);

// ---- checked views of static shared memory --------------------------------------------------
// SINAPSE_SHARED(float, tile, [16][17]) gives a SharedView<float[16][17]>: it indexes like
// the array, checks every index against the declared bounds, and, with the race check on
// (simulate(racecheck=True)), reports any two accesses to one element by different threads
// between the same pair of __syncthreads where at least one is a write (GPU Ocelot's rule:
// shadow last writer / readers per 4 bytes, cleared at each barrier).
void shared_read(const void* element, size_t bytes, const char* name);
void shared_write(const void* element, size_t bytes, const char* name);
[[noreturn]] void shared_index_error(const char* name, int64_t index, size_t extent);

template <typename A>
class SharedView;

template <typename T>
class SharedView {  // one element
 public:
  SharedView(T* p, const char* name) : p_(p), name_(name) {}
  operator T() const {
    shared_read(p_, sizeof(T), name_);
    return *p_;
  }
  SharedView& operator=(T v) {
    shared_write(p_, sizeof(T), name_);
    *p_ = v;
    return *this;
  }
  SharedView& operator=(const SharedView& other) { return *this = static_cast<T>(other); }
  SharedView& operator+=(T v) { return *this = static_cast<T>(*this) + v; }
  SharedView& operator-=(T v) { return *this = static_cast<T>(*this) - v; }
  SharedView& operator*=(T v) { return *this = static_cast<T>(*this) * v; }

 private:
  T* p_;
  const char* name_;
};

template <typename E, size_t N>
class SharedView<E[N]> {  // an array dimension
 public:
  SharedView(E (*p)[N], const char* name) : p_(reinterpret_cast<E*>(p)), name_(name) {}
  SharedView(E* p, const char* name) : p_(p), name_(name) {}
  SharedView<E> operator[](int64_t i) const {
    if (i < 0 || static_cast<size_t>(i) >= N) shared_index_error(name_, i, N);
    return SharedView<E>(p_ + i, name_);
  }

 private:
  E* p_;
  const char* name_;
};

}  // namespace sinapse::sim

// ---- built-in variables and device functions ---------------------------------------------
#define threadIdx (::sinapse::sim::current().thread_idx)
#define blockIdx (::sinapse::sim::current().block_idx)
#define blockDim (::sinapse::sim::current().block_dim)
#define gridDim (::sinapse::sim::current().grid_dim)
#define warpSize 32
#define __syncthreads() ::sinapse::sim::syncthreads(__FILE__, __LINE__)

inline void __syncwarp(unsigned mask = 0xffffffffu) { ::sinapse::sim::syncwarp(mask); }

namespace sinapse::sim::detail {
template <typename T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8, "warp shuffles move at most 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <typename T>
T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}
inline int lane_id() { return current().linear & 31; }
}  // namespace sinapse::sim::detail

template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
  const int lane = ::sinapse::sim::detail::lane_id();
  const int src = (lane & ~(width - 1)) + (src_lane & (width - 1));
  return ::sinapse::sim::detail::from_bits<T>(
      ::sinapse::sim::warp_exchange(mask, ::sinapse::sim::detail::to_bits(var), src, "__shfl_sync"));
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  const int lane = ::sinapse::sim::detail::lane_id();
  const int in_group = (lane & (width - 1)) + static_cast<int>(delta);
  const int src = in_group < width ? lane + static_cast<int>(delta) : lane;  // out of range: own value
  return ::sinapse::sim::detail::from_bits<T>(
      ::sinapse::sim::warp_exchange(mask, ::sinapse::sim::detail::to_bits(var), src, "__shfl_down_sync"));
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  const int lane = ::sinapse::sim::detail::lane_id();
  const int in_group = (lane & (width - 1)) - static_cast<int>(delta);
  const int src = in_group >= 0 ? lane - static_cast<int>(delta) : lane;
  return ::sinapse::sim::detail::from_bits<T>(
      ::sinapse::sim::warp_exchange(mask, ::sinapse::sim::detail::to_bits(var), src, "__shfl_up_sync"));
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  const int lane = ::sinapse::sim::detail::lane_id();
  int src = lane ^ lane_mask;
  if ((src & ~(width - 1)) != (lane & ~(width - 1))) src = lane;  // outside the group: own value
  return ::sinapse::sim::detail::from_bits<T>(
      ::sinapse::sim::warp_exchange(mask, ::sinapse::sim::detail::to_bits(var), src, "__shfl_xor_sync"));
}

// Atomics: blocks run on several OS threads, so these are real atomic operations.
inline float atomicAdd(float* addr, float v) {
  int* bits = reinterpret_cast<int*>(addr);
  int expected = __atomic_load_n(bits, __ATOMIC_RELAXED);
  for (;;) {  // compare-and-swap loop on the float's bit pattern
    float old, sum;
    std::memcpy(&old, &expected, sizeof(float));
    sum = old + v;
    int desired;
    std::memcpy(&desired, &sum, sizeof(float));
    if (__atomic_compare_exchange_n(bits, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return old;
  }
}
inline int atomicAdd(int* addr, int v) { return __atomic_fetch_add(addr, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* addr, unsigned v) { return __atomic_fetch_add(addr, v, __ATOMIC_RELAXED); }
inline int atomicMax(int* addr, int v) {
  int old = __atomic_load_n(addr, __ATOMIC_RELAXED);
  while (old < v && !__atomic_compare_exchange_n(addr, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicCAS(int* addr, int compare, int v) {
  __atomic_compare_exchange_n(addr, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
inline int atomicExch(int* addr, int v) { return __atomic_exchange_n(addr, v, __ATOMIC_RELAXED); }

// Vector types.
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }

// Approximate maths intrinsics (__expf, __logf, __fdividef, ...): models of the GPU's, with its
// error bounds.
#include "intrinsics.h"

inline int __float_as_int(float f) {
  int i;
  std::memcpy(&i, &f, 4);
  return i;
}
inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
template <typename T>
T __ldg(const T* p) {
  return *p;
}
