// Test-only switches of the simulator build (SINAPSE_SIM); the nvcc build compiles none of them.
//
// Mutants: deliberately broken kernels the tests must catch (tests/test_cuda_mutants.py). A launch
// site names its kernel as SINAPSE_MUTANT(kernel<0>, "name", kernel<kBroken>, ...more pairs): the
// broken instance while sinapse._cuda_sim.set_mutant("name") is on, the correct one otherwise.
// Outside SINAPSE_SIM the macro is its first argument alone (`kernel<0>`, what the launch reads as
// without the mutants, tools/cuda_resources.py too), so nvcc never instantiates a broken kernel.
//
// The grid-stride cap: the most blocks a grid-stride kernel is launched with (65535, grid-stride
// loops cover the rest). On the GPU a second pass of those loops needs 65535 x 256 = 16.8M
// elements, far beyond what the simulator runs in a test; tests lower the cap
// (sinapse._cuda_sim.set_grid_stride_cap) so that small tensors take a second pass too
// (tests/test_cuda_grid_passes.py). Only grid-stride kernels may read it. The skipped pass
// (set_skipped_pass) proves those tests reach each kernel's second pass: see below.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(SINAPSE_SIM)
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>

namespace sinapse::sim {

// Every mutant a kernel file defines (set_mutant refuses other names: a typo in a test would
// otherwise run the correct kernel and "catch" nothing).
inline constexpr const char* kMutants[] = {
    "gemm_tuned_nosync",      "gemm_tuned_edge",        "gemm_tuned_swap",          "conv2d_dx_nopad",
    "conv2d_dw_short_batch",  "max_pool2d_dx_short",    "avg_pool2d_dx_count_pad",  "bias_backward_skip_row",
    "batch_norm_stats_short", "batch_norm_sums_short",  "softmax_max_unreduced",    "softmax_sum_warp_only",
    "loss_total_short_tree",  "sum_squares_short_tree", "sum_squares_finish_short",
};

struct TestSwitches {
  std::mutex mutex;
  std::string mutant;        // "" = none
  std::string skipped_pass;  // a kernel's launch name, "" = none
  std::atomic<int64_t> grid_stride_cap{65535};
};

inline TestSwitches& test_switches() {
  static TestSwitches s;
  return s;
}

inline void set_mutant(const std::string& name) {
  bool known = name.empty();
  for (const char* m : kMutants) known = known || name == m;
  if (!known) throw std::invalid_argument("set_mutant: unknown mutant '" + name + "'");
  std::lock_guard<std::mutex> lock(test_switches().mutex);
  test_switches().mutant = name;
}

inline std::string mutant() {
  std::lock_guard<std::mutex> lock(test_switches().mutex);
  return test_switches().mutant;
}

inline bool mutant_is(const char* name) { return mutant() == name; }

// The skipped pass: the kernel launched as `kernel` sees a gridDim twice its grid (x and y), so
// each of its grid-stride loops jumps over the elements of its second pass. A test that claims
// to run a kernel's second pass must then fail (tests/test_cuda_grid_passes.py).
inline void set_skipped_pass(const std::string& kernel) {
  std::lock_guard<std::mutex> lock(test_switches().mutex);
  test_switches().skipped_pass = kernel;
}

inline bool skips_pass(const std::string& launch_desc) {  // launch_desc: "kernel<<<grid, ..."
  std::lock_guard<std::mutex> lock(test_switches().mutex);
  const std::string& k = test_switches().skipped_pass;
  return !k.empty() && launch_desc.compare(0, k.size() + 3, k + "<<<") == 0;
}

inline void set_grid_stride_cap(int64_t blocks) {
  if (blocks < 1 || blocks > 65535)
    throw std::invalid_argument("set_grid_stride_cap: blocks must be in [1, 65535], got " + std::to_string(blocks));
  test_switches().grid_stride_cap = blocks;
}

inline int64_t grid_stride_cap() { return test_switches().grid_stride_cap; }

// The kernel to launch: `normal`, or the `broken` one of the pair whose name is switched on.
template <typename Kernel>
Kernel pick_mutant(Kernel normal) {
  return normal;
}
template <typename Kernel, typename... Rest>
Kernel pick_mutant(Kernel normal, const char* name, Kernel broken, Rest... rest) {
  return mutant_is(name) ? broken : pick_mutant(normal, rest...);
}

}  // namespace sinapse::sim

#define SINAPSE_MUTANT(normal, ...) ::sinapse::sim::pick_mutant(normal, __VA_ARGS__)
#else
#define SINAPSE_MUTANT(normal, ...) normal
#endif

namespace sinapse::cuda {

// The most blocks of a grid-stride kernel's grid (see above).
inline int64_t grid_stride_cap() {
#if defined(SINAPSE_SIM)
  return ::sinapse::sim::grid_stride_cap();
#else
  return 65535;
#endif
}

}  // namespace sinapse::cuda
