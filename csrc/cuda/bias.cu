#include "bias.h"

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

__global__ void bias_add_kernel(int64_t total, int64_t channels, const float* __restrict__ x,
                                const float* __restrict__ bias, float* __restrict__ y) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    y[i] = x[i] + bias[i % channels];
}

// One thread per channel walks the rows in order: consecutive threads read consecutive
// channels of a row (coalesced), and the sum's order never changes (bit-reproducible).
// kSkipRow: a mutant (SINAPSE_SIM only, test_switches.cuh) whose sum starts at row 1.
template <bool kSkipRow>
__global__ void bias_backward_kernel(int64_t rows, int64_t channels, const float* __restrict__ dy,
                                     float* __restrict__ db) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  double s = 0.0;
  for (int64_t r = kSkipRow ? 1 : 0; r < rows; ++r) s += dy[r * channels + c];
  db[c] = static_cast<float>(s);
}

constexpr int kBlock = 256;

}  // namespace

void bias_add(int64_t rows, int64_t channels, const float* x, const float* bias, float* y, cudaStream_t stream) {
  const int64_t total = rows * channels;
  const int64_t blocks = (total + kBlock - 1) / kBlock;
  launch("bias_add_kernel", bias_add_kernel, dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap()))),
         dim3(kBlock), 0, stream, total, channels, x, bias, y);
}

void bias_backward(int64_t rows, int64_t channels, const float* dy, float* db, cudaStream_t stream) {
  launch("bias_backward_kernel",
         SINAPSE_MUTANT(bias_backward_kernel<false>, "bias_backward_skip_row", bias_backward_kernel<true>),
         dim3(static_cast<unsigned>((channels + kBlock - 1) / kBlock)), dim3(kBlock), 0, stream, rows, channels, dy,
         db);
}

}  // namespace sinapse::cuda
