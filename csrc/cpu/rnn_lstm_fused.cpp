// The LSTM's time loop with the gates fused into the recurrent product (the tuned variant's
// forward; docs/kernels/rnn.md, "The fused recurrent step").
//
// The unfused step is two passes: a GEMM adds h_{t-1} U to the gate buffer (N x 4H, x W + b
// already there), then the gate kernel reads that buffer back, applies sigmoid/tanh and
// writes c_t, h_t. Here one kernel does both on register tiles: a tile is MR rows x V units
// of all four gates (4 * MR accumulator vectors), so when its K loop ends every gate of its
// units is in registers and the gate equations run right there. That needs the four gate
// columns of one unit in the same tile, which Keras's U (H x 4H, gate blocks [i|f|c|o] of H
// columns each) does not give: U is repacked once per call into unit blocks of V units,
// each a panel of H rows of 4V floats [i_j0..j0+V | f | c | o] (zeros past H), so the K loop
// reads one contiguous 4V-float row of the panel per k.
//
// MR (rows per tile) fills the register file: AVX-512 6 rows (24 accumulators + 4 B vectors
// + a broadcast of 32 zmm), AVX2 and the SSE2 baseline 2 rows (8 + 4 + 1 of 16). A remainder
// of rows takes the largest smaller tile that fits, never a padded one: batch 64 on AVX-512 is
// ten 6-row tiles and one 4-row tile, all 64 rows of work (the tuned GEMM's 12-row tiles pad
// the last 4 rows to 12, 1/8 more multiply-adds). At one row (batch-1 inference) the tile is a GEMV that loads h[k]
// once for the four gate blocks and keeps two accumulator sets (even and odd k) to hide the FMA latency.
//
// Threads: one parallel region runs the whole time loop (an OpenMP region per step would
// cost as much as a small step). Each thread owns a fixed range of unit blocks for every
// step, packs their panels itself (they stay in its core's L2 from step to step), and one
// barrier per step publishes h_t.
#include <algorithm>
#include <cstring>

#include "../common/aligned_buffer.h"
#include "../common/macros.h"
#include "../common/rnn_sequence.h"
#include "rnn.h"
#include "simd_run.h"
#include "vec_math.h"

namespace sinapse::cpu {

namespace {

using M = VecMath;

#define SINAPSE_FUSED [[gnu::always_inline]] inline

// The unit-block width (floats per vector) and rows per tile of each path.
template <int V>
struct Shape;
template <>
struct Shape<16> {  // AVX-512
  static constexpr int kRows = 6;
};
template <>
struct Shape<8> {  // AVX2
  static constexpr int kRows = 2;
};
template <>
struct Shape<4> {  // SSE2 baseline
  static constexpr int kRows = 2;
};

int64_t unit_blocks(int64_t H, int V) { return (H + V - 1) / V; }

// Block b of the packed U: panel[k * 4V + q * V + l] = U[k, q * H + b * V + l] (0 past H).
template <int V>
void pack_block(const float* u, int64_t H, int64_t b, float* panel) {
  const int64_t j0 = b * V, nv = std::min<int64_t>(V, H - j0);
  for (int64_t k = 0; k < H; ++k)
    for (int q = 0; q < 4; ++q) {
      float* dst = panel + (k * 4 + q) * V;
      const float* src = u + k * 4 * H + q * H + j0;
      if (nv == V) {
        std::memcpy(dst, src, sizeof(float) * V);  // a constant size: inlined vector moves, no call
      } else {
        std::memcpy(dst, src, sizeof(float) * nv);
        std::fill(dst + nv, dst + V, 0.0f);
      }
    }
}

// Blocks [b0, b1) of the packed U for V lanes.
void pack_blocks(const float* u, int64_t H, int V, int64_t b0, int64_t b1, float* packed) {
  for (int64_t b = b0; b < b1; ++b) {
    float* panel = packed + b * H * 4 * V;
    if (V == 16) {
      pack_block<16>(u, H, b, panel);
    } else if (V == 8) {
      pack_block<8>(u, H, b, panel);
    } else {
      pack_block<4>(u, H, b, panel);
    }
  }
}

// Lanes [0, nv) of row n's gates (units j0 + l), the recurrent product already added to g.
template <int V>
SINAPSE_FUSED void gate_lanes(const RnnStep& s, int64_t n, int64_t j0, int64_t nv) {
  const int64_t H = s.H;
  float* __restrict g = s.g + n * s.g_ld;
  const float* __restrict cp = s.c_prev + n * s.c_prev_ld;
  float* __restrict cn = s.c_new + n * s.c_new_ld;
  float* __restrict hn = s.h_new + n * s.h_new_ld;
  float* y = s.y + n * s.y_ld;
#pragma omp simd
  for (int64_t l = 0; l < nv; ++l) {
    const int64_t j = j0 + l;
    float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j], c, h;
    rnn::lstm_forward<M>(i, f, gg, o, cp[j], c, h);
    g[j] = i;
    g[H + j] = f;
    g[2 * H + j] = gg;
    g[3 * H + j] = o;
    cn[j] = c;
    hn[j] = h;
    y[j] = h;
  }
}

// A masked row keeps its state and repeats its output (y may be y_prev itself: only the last
// output kept).
SINAPSE_FUSED void masked_lanes(const RnnStep& s, int64_t n, int64_t j0, int64_t nv) {
  const float* hp = s.h_prev + n * s.h_prev_ld;
  const float* cp = s.c_prev + n * s.c_prev_ld;
  float *cn = s.c_new + n * s.c_new_ld, *hn = s.h_new + n * s.h_new_ld, *y = s.y + n * s.y_ld;
  const float* yp = s.y_prev ? s.y_prev + n * s.y_prev_ld : nullptr;
  for (int64_t j = j0; j < j0 + nv; ++j) {
    hn[j] = hp[j];
    cn[j] = cp[j];
    y[j] = yp ? yp[j] : 0.0f;
  }
}

// The gate equations of rows [n0, n0 + R), units [j0, j0 + nv): one plain loop over the rows
// (not unrolled, so the polynomial constants are loaded once per tile, not once per row),
// each a vector loop of V lanes (a constant trip count for whole blocks).
template <int V>
SINAPSE_FUSED void gate_epilogue(const RnnStep& s, int64_t n0, int R, int64_t j0, int64_t nv) {
  for (int64_t n = n0; n < n0 + R; ++n) {
    if (s.mask && !s.mask[n * s.mask_ld]) {
      masked_lanes(s, n, j0, nv);
    } else if (nv == V) {
      gate_lanes<V>(s, n, j0, V);
    } else {
      gate_lanes<V>(s, n, j0, nv);
    }
  }
}

// One tile: rows [n0, n0 + R) x unit block `panel` (units [j0, j0 + nv)), the K loop over
// h_prev's H columns with 4R accumulator vectors, then the gates of each row.
template <int V, int R>
SINAPSE_FUSED void tile(const RnnStep& s, int64_t n0, const float* __restrict panel, int64_t j0, int64_t nv) {
  typedef float vf __attribute__((vector_size(4 * V)));
  const int64_t H = s.H, ld = s.h_prev_ld;
  const float* __restrict hp = s.h_prev + n0 * ld;
  const vf* __restrict b = reinterpret_cast<const vf*>(panel);
  vf acc[R][4] = {};
  if constexpr (R == 1) {
    // GEMV: h[k] loaded once for the four gate blocks; even and odd k in separate
    // accumulators, 8 independent FMA chains.
    vf odd[4] = {};
    int64_t k = 0;
    for (; k + 2 <= H; k += 2) {
      const float h0 = hp[k], h1 = hp[k + 1];
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) {
        acc[0][q] += h0 * b[4 * k + q];
        odd[q] += h1 * b[4 * k + 4 + q];
      }
    }
    if (k < H)
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) acc[0][q] += hp[k] * b[4 * k + q];
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[0][q] += odd[q];
  } else {
    for (int64_t k = 0; k < H; ++k) {
      const vf b0 = b[4 * k], b1 = b[4 * k + 1], b2 = b[4 * k + 2], b3 = b[4 * k + 3];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const float h = hp[r * ld + k];
        acc[r][0] += h * b0;
        acc[r][1] += h * b1;
        acc[r][2] += h * b2;
        acc[r][3] += h * b3;
      }
    }
  }
  // The products join x W + b in the tile's part of g (L1, read back at once by the gates).
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* g = s.g + (n0 + r) * s.g_ld + j0;
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      vf pre;
      if (nv == V) {
        std::memcpy(&pre, g + q * H, sizeof pre);
        pre += acc[r][q];
        std::memcpy(g + q * H, &pre, sizeof pre);
      } else {
        alignas(64) float t[V];
        std::memcpy(t, &acc[r][q], sizeof t);
        for (int64_t l = 0; l < nv; ++l) g[q * H + l] += t[l];
      }
    }
  }
  gate_epilogue<V>(s, n0, R, j0, nv);
}

// Rows [n0, n1) of unit block `panel`: tiles of R rows, then the remainder with smaller ones.
template <int V, int R>
SINAPSE_FUSED void rows(const RnnStep& s, int64_t n0, int64_t n1, const float* panel, int64_t j0, int64_t nv) {
  int64_t n = n0;
  for (; n + R <= n1; n += R) tile<V, R>(s, n, panel, j0, nv);
  if constexpr (R > 1)
    if (n < n1) rows<V, R - 1>(s, n, n1, panel, j0, nv);
}

// One step for this thread's unit blocks [b0, b1): unit blocks outer, so each block's panel
// (H x 4V floats, 64 KiB at H = 256 on AVX-512) is read from L2 by all the row tiles in turn
// while h_prev (N x H) stays in L2 too. Rows outer would stream the thread's whole share of U
// once per row tile: from L3 when that share passes L2's size (all of U on one thread at
// H = 256: 1 MiB), which measured slower than the unfused GEMM at N = 64.
template <int V>
SINAPSE_FUSED void step_blocks(const RnnStep& s, const float* packed, int64_t b0, int64_t b1) {
  constexpr int R = Shape<V>::kRows;
  const int64_t H = s.H, panel_floats = H * 4 * V;
  for (int64_t b = b0; b < b1; ++b) {
    const float* panel = packed + b * panel_floats;
    const int64_t j0 = b * V, nv = std::min<int64_t>(V, H - j0);
    rows<V, R>(s, 0, s.N, panel, j0, nv);
  }
}

#undef SINAPSE_FUSED

void step_generic(const RnnStep& s, const float* p, int64_t b0, int64_t b1) { step_blocks<4>(s, p, b0, b1); }
#if SINAPSE_X86
SINAPSE_TARGET_AVX2 void step_avx2(const RnnStep& s, const float* p, int64_t b0, int64_t b1) {
  step_blocks<8>(s, p, b0, b1);
}
SINAPSE_TARGET_AVX512 void step_avx512(const RnnStep& s, const float* p, int64_t b0, int64_t b1) {
  step_blocks<16>(s, p, b0, b1);
}
#endif

int width_of(SimdPath path) { return path == SimdPath::avx512 ? 16 : path == SimdPath::avx2 ? 8 : 4; }

// Threads pay when a step has at least ~128K multiply-adds (about 10 us on one core): a
// barrier per step costs about a microsecond.
constexpr double kMinStepWork = 131072;

}  // namespace

int64_t lstm_fused_packed_floats(int64_t H, SimdPath path) {
  const int V = width_of(path);
  return unit_blocks(H, V) * H * 4 * V;
}

void lstm_recurrence_fused(const RnnArgs& a, const RnnForwardLayout& L, const float* rkernel, const uint8_t* mask,
                           float* y, float* hT, float* cT, float* ws, SimdPath path, int max_threads) {
  const int V = width_of(path);
  const int64_t H = a.H, blocks = unit_blocks(H, V), panel_floats = H * 4 * V;
  const auto step = pick_simd(path, SINAPSE_SIMD_VERSIONS(step_generic, step_avx2, step_avx512));
  note_simd_path(path);
  const double work = static_cast<double>(a.N) * 4 * H * H;
  const int nthreads = work < kMinStepWork ? 1 : static_cast<int>(std::min<int64_t>(std::max(1, max_threads), blocks));
  // Allocated here on the calling thread (grow-only, reused): a failed allocation throws
  // here, never inside the parallel region.
  thread_local AlignedBuffer packed_buf;
  float* const packed = packed_buf.floats(static_cast<size_t>(blocks * panel_floats));
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const RnnTeam team;
    const int64_t b0 = blocks * team.tid / team.size, b1 = blocks * (team.tid + 1) / team.size;
    pack_blocks(rkernel, H, V, b0, b1, packed);
    for (int64_t s = 0; s < a.T; ++s) {
      step(rnn_forward_step(a, L, ws, mask, y, hT, cT, s), packed, b0, b1);
#pragma omp barrier
    }
  }
}

}  // namespace sinapse::cpu
