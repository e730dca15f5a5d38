// Every CUDA API call and every kernel launch goes through these helpers, so a failure
// becomes a C++ exception (a Python RuntimeError) naming the call or the kernel and its
// launch configuration, instead of a sticky error discovered three ops later.
#pragma once

#if defined(SINAPSE_SIM)
#include "sim/sim.h"
#else
#include <cuda_runtime_api.h>
#endif

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sinapse::cuda {

// Launch limits of the target, sm_90 (H100/H200): CUDA C++ Programming Guide, "Compute
// Capabilities", table "Technical Specifications per Compute Capability" (9.0). A launch past
// one of them fails on the GPU; the simulator refuses it too (sim/scheduler.cpp, check_launch).
namespace sm90 {
constexpr int64_t kMaxGridX = 2147483647;  // 2^31 - 1 blocks along x
constexpr int64_t kMaxGridYZ = 65535;      // along y and z
constexpr int64_t kMaxBlockXY = 1024, kMaxBlockZ = 64;
constexpr int64_t kMaxThreadsPerBlock = 1024;
constexpr int64_t kRegistersPerBlock = 65536;             // 64K 32-bit registers per block (and per SM)
constexpr int64_t kRegisterAllocationUnit = 256;          // registers are allocated per warp in units of 256
constexpr size_t kStaticSharedLimit = 48 * 1024;          // static __shared__ per block
constexpr size_t kDefaultDynamicSharedLimit = 48 * 1024;  // static + dynamic without the opt-in
constexpr size_t kOptInSharedLimit = 227 * 1024;          // sharedMemPerBlockOptin: static + opted-in dynamic
}  // namespace sm90

inline std::string describe(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
}

// Wraps a CUDA runtime call: SINAPSE_CUDA_CHECK(cudaMemsetAsync(...)).
#define SINAPSE_CUDA_CHECK(call)                                                        \
  do {                                                                                  \
    const cudaError_t sinapse_err_ = (call);                                            \
    if (sinapse_err_ != cudaSuccess)                                                    \
      throw std::runtime_error(std::string("CUDA call `") + #call +                     \
                               "` failed: " + ::sinapse::cuda::describe(sinapse_err_)); \
  } while (0)

inline std::string dim3_string(dim3 d) {
  return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
}

inline std::string launch_string(const char* name, dim3 grid, dim3 block, size_t shared_bytes) {
  return std::string(name) + "<<<grid=" + dim3_string(grid) + ", block=" + dim3_string(block) +
         ", shared=" + std::to_string(shared_bytes) + " B>>>";
}

// ---- SINAPSE_CUDA_SYNC: synchronise after every launch (debug mode) ------------------------
// Kernels run asynchronously, so an error raised while one runs (an illegal address, a
// misaligned access) is reported by whichever CUDA call comes next, naming nothing. With
// SINAPSE_CUDA_SYNC=1 every launch waits for its kernel and checks, so the error names the
// kernel and its launch configuration (launch.cuh). Read from the environment at the first
// launch, cached; sinapse.cuda.set_sync_launches() changes it (or re-reads the variable).
// The simulator runs launches synchronously anyway: there the setting is accepted and kept.

// "1"/"true"/"yes"/"on" -> true, unset/""/"0"/"false"/"no"/"off" -> false (any case);
// anything else throws std::invalid_argument rather than guessing.
inline bool parse_sync_setting(const char* value) {
  std::string v = value ? value : "";
  for (char& c : v) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v.empty() || v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw std::invalid_argument("SINAPSE_CUDA_SYNC='" + std::string(value) +
                              "': expected 1/true/yes/on or 0/false/no/off (or unset)");
}

inline std::atomic<int>& sync_launches_state() {  // -1: not read from the environment yet
  static std::atomic<int> state{-1};
  return state;
}

inline bool sync_launches() {
  int s = sync_launches_state().load(std::memory_order_relaxed);
  if (s < 0) {
    s = parse_sync_setting(std::getenv("SINAPSE_CUDA_SYNC")) ? 1 : 0;
    sync_launches_state().store(s, std::memory_order_relaxed);
  }
  return s == 1;
}

// on: 1 or 0; -1 re-reads SINAPSE_CUDA_SYNC now (and throws for a value it cannot parse).
inline void set_sync_launches(int on) {
  sync_launches_state().store(on < 0 ? -1 : (on ? 1 : 0), std::memory_order_relaxed);
  if (on < 0) sync_launches();
}

}  // namespace sinapse::cuda
