// Layer / group normalization, two variants (registry.py):
//   naive  one thread per row runs the definition (common/layer_norm_row.h, sums in double):
//          only `rows` threads, a warp's reads a row apart (uncoalesced).
//   tuned  one fused kernel per pass: a team per row — a warp for rows of up to kWarpRowMax
//          floats (four rows per block of 128), a block of 128 threads for longer ones — strides
//          over the row (consecutive threads, consecutive floats: coalesced) and reduces with warp
//          shuffles (plus one shared slot pair per warp for a block), as softmax.cu. The forward
//          computes the statistics and writes y in one launch; the backward's dx is one launch.
// Both variants: dgamma / dbeta by one thread per channel walking the rows in a fixed order, in
// double (deterministic, no atomics), launched before dx (dx may be dy).
// Statistics: the shifted sum (x - x0, x0 = the row's first element: a large common offset
// leaves the float32 sum) and the corrected two-pass variance, as cpu/layer_norm.cpp.
#include "layer_norm.h"

#include "launch.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 128;  // threads per block in both team sizes
constexpr int kWarps = kBlock / 32;
constexpr int64_t kWarpRowMax = 1024;  // rows up to this many floats get a warp, longer ones a block

// Mutants (SINAPSE_SIM builds only, tests/test_layer_norm.py must catch them).
constexpr int kCorrect = 0, kNoSync = 1, kShortRow = 2;

// Element i of row r (0 <= i < row_size).
__device__ __forceinline__ int64_t element(const LayerNormArgs& a, int64_t base, int64_t r, int64_t i) {
  return a.segments == 1 ? base + i : a.run_start(r, i / a.length) + i % a.length;
}

struct Pair {
  float a, b;
};

// Sums (a, b) over the team (a warp, or the block); every thread gets the result. A block
// ends with a barrier, so the slots may be reused by the next call.
template <int kTeam, int kMutant, typename Slots>
__device__ Pair team_sum(float a, float b, Slots&& slots) {
  for (int m = 16; m > 0; m /= 2) {
    a += __shfl_xor_sync(0xffffffffu, a, m);
    b += __shfl_xor_sync(0xffffffffu, b, m);
  }
  if constexpr (kTeam == 32) {
    return {a, b};
  } else {
    const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
    if (lane == 0) {
      slots[warp][0] = a;
      slots[warp][1] = b;
    }
    __syncthreads();
    float sa = 0.0f, sb = 0.0f;
    for (int w = 0; w < kWarps; ++w) {  // every thread, the same order: the same sums
      sa += slots[w][0];
      sb += slots[w][1];
    }
    if (kMutant != kNoSync) __syncthreads();
    return {sa, sb};
  }
}

// The row this thread's team owns and the thread's index in it; false: no row (the last
// block of the warp teams). row0: the launch's first row (for_each_row_launch).
template <int kTeam>
__device__ bool my_row(const LayerNormArgs& a, int64_t row0, int64_t& r, int& t) {
  if constexpr (kTeam == 32) {
    r = row0 + static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
    t = threadIdx.x & 31;
  } else {
    r = row0 + blockIdx.x;
    t = threadIdx.x;
  }
  return r < a.rows();
}

template <int kTeam, int kMutant>
__global__ void forward_kernel(LayerNormArgs a, int64_t row0, const float* x, const float* __restrict__ gamma,
                               const float* __restrict__ beta, float* y, float* __restrict__ mean,
                               float* __restrict__ inv_std) {
  SINAPSE_SHARED(float, slots, [kWarps][2]);
  int64_t r;
  int t;
  if (!my_row<kTeam>(a, row0, r, t)) return;  // warp teams only: the whole warp leaves together
  const int64_t n = a.row_size() - (kMutant == kShortRow ? 1 : 0), base = a.run_start(r, 0);
  const int64_t c0 = r % a.groups * a.length;
  const float shift = x[base], count = static_cast<float>(a.row_size());
  float s = 0.0f;
  for (int64_t i = t; i < n; i += kTeam) s += x[element(a, base, r, i)] - shift;
  const float m0 = shift + team_sum<kTeam, kMutant>(s, 0.0f, slots).a / count;
  float d = 0.0f, q = 0.0f;
  for (int64_t i = t; i < n; i += kTeam) {
    const float v = x[element(a, base, r, i)] - m0;
    d += v;
    q += v * v;
  }
  const Pair dq = team_sum<kTeam, kMutant>(d, q, slots);
  const float dm = dq.a / count, m = m0 + dm;
  const float inv = rsqrtf(fmaxf(dq.b / count - dm * dm, 0.0f) + a.epsilon);
  if (t == 0) {
    mean[r] = m;
    inv_std[r] = inv;
  }
  for (int64_t i = t; i < a.row_size(); i += kTeam) {
    const int64_t e = element(a, base, r, i), c = c0 + (a.segments == 1 ? i : i % a.length);
    y[e] = (x[e] - m) * inv * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
  }
}

template <int kTeam>
__global__ void dx_kernel(LayerNormArgs a, int64_t row0, const float* __restrict__ x, const float* dy,
                          const float* __restrict__ gamma, const float* __restrict__ mean,
                          const float* __restrict__ inv_std, float* dx) {
  SINAPSE_SHARED(float, slots, [kWarps][2]);
  int64_t r;
  int t;
  if (!my_row<kTeam>(a, row0, r, t)) return;
  const int64_t n = a.row_size(), base = a.run_start(r, 0), c0 = r % a.groups * a.length;
  const float m = mean[r], inv = inv_std[r];
  float sg = 0.0f, sgx = 0.0f;
  for (int64_t i = t; i < n; i += kTeam) {
    const int64_t e = element(a, base, r, i), c = c0 + (a.segments == 1 ? i : i % a.length);
    const float g = dy[e] * (gamma ? gamma[c] : 1.0f);
    sg += g;
    sgx += g * (x[e] - m) * inv;
  }
  const Pair sums = team_sum<kTeam, kCorrect>(sg, sgx, slots);
  const float mg = sums.a / static_cast<float>(n), mgx = sums.b / static_cast<float>(n);
  // dx may be dy: this thread wrote nothing yet, and writes only the elements it read.
  for (int64_t i = t; i < n; i += kTeam) {
    const int64_t e = element(a, base, r, i), c = c0 + (a.segments == 1 ? i : i % a.length);
    const float g = dy[e] * (gamma ? gamma[c] : 1.0f);
    dx[e] = inv * (g - mg - (x[e] - m) * inv * mgx);
  }
}

__global__ void channel_grads_kernel(LayerNormArgs a, const float* __restrict__ x, const float* __restrict__ dy,
                                     const float* __restrict__ mean, const float* __restrict__ inv_std,
                                     float* __restrict__ dgamma, float* __restrict__ dbeta) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c < a.channels()) layer_norm_channel_grads(a, c, x, dy, mean, inv_std, dgamma, dbeta);
}

// ---- naive: one thread per row --------------------------------------------------------------

__global__ void forward_naive_kernel(LayerNormArgs a, const float* x, const float* gamma, const float* beta, float* y,
                                     float* mean, float* inv_std) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < a.rows()) layer_norm_row_forward(a, r, x, gamma, beta, y, mean, inv_std);
}

__global__ void dx_naive_kernel(LayerNormArgs a, const float* x, const float* dy, const float* gamma, const float* mean,
                                const float* inv_std, float* dx) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < a.rows()) layer_norm_row_backward(a, r, x, dy, gamma, mean, inv_std, dx);
}

dim3 blocks_for(int64_t threads) { return dim3(static_cast<unsigned>((threads + kBlock - 1) / kBlock)); }
bool warp_rows(const LayerNormArgs& a) { return a.row_size() <= kWarpRowMax; }

// A team per row — kWarps rows per block (warp teams) or one (block teams) — on grid.x, in
// launches of at most 2^31 - 1 blocks (sm_90): warp teams over rows of one float reach that at
// 8.6e9 rows. go(first_row, grid) launches; each launch's rows end on a block boundary, so no
// row is done twice.
template <int kTeam, typename Go>
void for_each_row_launch(const LayerNormArgs& a, Go&& go) {
  const int64_t rows_per_block = kTeam == 32 ? kWarps : 1;
  for_each_chunk(a.rows(), grid_chunk(sm90::kMaxGridX) * rows_per_block, [&](int64_t first, int64_t rows) {
    go(first, dim3(static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block)));
  });
}

template <int kMutant>
void forward(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y, float* mean,
             float* inv_std, cudaStream_t stream, const char* warp_name, const char* block_name) {
  if (warp_rows(a))
    return for_each_row_launch<32>(a, [&](int64_t first, dim3 grid) {
      launch(warp_name, forward_kernel<32, kMutant>, grid, dim3(kBlock), 0, stream, a, first, x, gamma, beta, y, mean,
             inv_std);
    });
  for_each_row_launch<kBlock>(a, [&](int64_t first, dim3 grid) {
    launch(block_name, forward_kernel<kBlock, kMutant>, grid, dim3(kBlock), 0, stream, a, first, x, gamma, beta, y,
           mean, inv_std);
  });
}

}  // namespace

void layer_norm_forward(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* inv_std, KernelVariant variant, cudaStream_t stream) {
  if (a.row_size() == 0 || a.rows() == 0) return;
  if (variant == KernelVariant::naive)
    return launch("layer_norm_forward_naive_kernel", forward_naive_kernel, blocks_for(a.rows()), dim3(kBlock), 0,
                  stream, a, x, gamma, beta, y, mean, inv_std);
  forward<kCorrect>(a, x, gamma, beta, y, mean, inv_std, stream, "layer_norm_forward_kernel<warp>",
                    "layer_norm_forward_kernel<block>");
}

void layer_norm_backward(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma, const float* mean,
                         const float* inv_std, float* dx, float* dgamma, float* dbeta, KernelVariant variant,
                         cudaStream_t stream) {
  // The channel sums first: they read dy, which dx may overwrite.
  launch("layer_norm_channel_grads_kernel", channel_grads_kernel, blocks_for(a.channels()), dim3(kBlock), 0, stream, a,
         x, dy, mean, inv_std, dgamma, dbeta);
  if (a.row_size() == 0 || a.rows() == 0) return;
  if (variant == KernelVariant::naive)
    return launch("layer_norm_dx_naive_kernel", dx_naive_kernel, blocks_for(a.rows()), dim3(kBlock), 0, stream, a, x,
                  dy, gamma, mean, inv_std, dx);
  if (warp_rows(a))
    return for_each_row_launch<32>(a, [&](int64_t first, dim3 grid) {
      launch("layer_norm_dx_kernel<warp>", dx_kernel<32>, grid, dim3(kBlock), 0, stream, a, first, x, dy, gamma, mean,
             inv_std, dx);
    });
  for_each_row_launch<kBlock>(a, [&](int64_t first, dim3 grid) {
    launch("layer_norm_dx_kernel<block>", dx_kernel<kBlock>, grid, dim3(kBlock), 0, stream, a, first, x, dy, gamma,
           mean, inv_std, dx);
  });
}

#if defined(SINAPSE_SIM)
void layer_norm_forward_mutant(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                               float* mean, float* inv_std, const std::string& which) {
  if (which == "no_sync")
    return forward<kNoSync>(a, x, gamma, beta, y, mean, inv_std, nullptr, "layer_norm_forward_kernel<warp,no_sync>",
                            "layer_norm_forward_kernel<block,no_sync>");
  if (which == "short_row")
    return forward<kShortRow>(a, x, gamma, beta, y, mean, inv_std, nullptr, "layer_norm_forward_kernel<warp,short_row>",
                              "layer_norm_forward_kernel<block,short_row>");
  throw std::invalid_argument("layer_norm_forward_mutant: unknown mutant '" + which + "'");
}
#endif

}  // namespace sinapse::cuda
