// The CUDA backend of the shared time loop (common/rnn_sequence.h): our GEMM and one fused
// gate kernel launch per step, one thread per (example, unit) doing all of that unit's gates
// (reads of each gate block are coalesced along the units). The cell equations are
// common/rnn_args.h's, the same the CPU kernels vectorise.
//
// The LSTM cell has a naive variant (registry.py): one thread per example walks all of its
// units — the CPU loop ported as is. Only N threads per step, and a warp's reads are a row
// (g_ld floats) apart, so nothing coalesces; the tuned kernel's thread per (example, unit)
// reads consecutive units.
#include "rnn.h"

#include "../common/activations.h"
#include "../common/rnn_sequence.h"
#include "bias.h"
#include "gemm.h"
#include "launch.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;

struct DeviceMath {
  static SINAPSE_HD float sigmoid(float x) { return act::sigmoid(x); }
  static SINAPSE_HD float tanh(float x) { return tanhf(x); }
};
using M = DeviceMath;

__global__ void step_forward_kernel(RnnCell cell, RnnStep s, int phase) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= s.N * s.H) return;
  const int64_t H = s.H, n = i / H, j = i % H;
  float* g = s.g + n * s.g_ld;
  const float hp = s.h_prev[n * s.h_prev_ld + j];
  if (cell == RnnCell::gru_reset_before && phase == 0) {  // z, r, and r * h_prev for U_h
    const float z = M::sigmoid(g[j]), r = M::sigmoid(g[H + j]);
    g[j] = z;
    g[H + j] = r;
    s.extra[n * s.extra_ld + j] = r * hp;
    return;
  }
  float h = hp, c = 0.0f;
  const bool on = !s.mask || s.mask[n * s.mask_ld];
  if (cell == RnnCell::lstm) c = s.c_prev[n * s.c_prev_ld + j];
  if (on) {
    switch (cell) {
      case RnnCell::simple_tanh:
      case RnnCell::simple_relu:
        h = g[j] = rnn::simple_forward<M>(g[j], cell == RnnCell::simple_relu);
        break;
      case RnnCell::lstm:
        rnn::lstm_forward<M>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], c, c, h);
        break;
      case RnnCell::gru: {
        const float* rec = s.rec + n * 3 * H;
        rnn::gru_forward<M>(g[j], g[H + j], g[2 * H + j], rec[j], rec[H + j], rec[2 * H + j], hp, h);
        s.extra[n * s.extra_ld + j] = rec[2 * H + j];
        break;
      }
      case RnnCell::gru_reset_before: {
        const float z = g[j], hh = M::tanh(g[2 * H + j]);
        g[2 * H + j] = hh;
        h = z * hp + (1.0f - z) * hh;
        break;
      }
    }
  }
  s.h_new[n * s.h_new_ld + j] = h;
  if (cell == RnnCell::lstm) s.c_new[n * s.c_new_ld + j] = c;
  // A masked step repeats the previous output (zeros before the first step).
  s.y[n * s.y_ld + j] = on ? h : (s.y_prev ? s.y_prev[n * s.y_prev_ld + j] : 0.0f);
}

__global__ void step_backward_kernel(RnnCell cell, RnnStepGrad s, int phase) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= s.N * s.H) return;
  const int64_t H = s.H, n = i / H, j = i % H, GH = rnn_gates(cell) * H;
  const bool on = !s.mask || s.mask[n * s.mask_ld];
  const float* g = s.g + n * s.g_ld;
  const float hp = s.h_prev[n * s.h_prev_ld + j];
  float* dg = s.dg + n * s.dg_ld;
  float* dhn = s.dh_next + n * H + j;
  if (phase == 1) {  // GRU reset_before: dr from d(r h_prev), and r d(r h_prev) into dh_prev
    if (!on) return;
    const float r = g[H + j], drh = s.drh[n * H + j];
    dg[H + j] = drh * hp * r * (1.0f - r);
    *dhn += drh * r;
    return;
  }
  const float dh = s.dh[n * H + j];
  const float dy = s.dy ? s.dy[n * s.dy_ld + j] : 0.0f;
  float* carry = s.carry + n * H + j;
  if (!on) {  // the output repeated the previous one: its gradient moves there; the state passes through
    *carry += dy;
    *dhn = dh;
    for (int64_t k = j; k < GH; k += H) {
      dg[k] = 0.0f;
      if (cell == RnnCell::gru) s.dgr[n * s.dgr_ld + k] = 0.0f;
    }
    return;
  }
  const float dht = dh + *carry + dy;
  *carry = 0.0f;
  switch (cell) {
    case RnnCell::simple_tanh:
    case RnnCell::simple_relu:
      dg[j] = rnn::simple_backward(g[j], dht, cell == RnnCell::simple_relu);
      *dhn = 0.0f;
      break;
    case RnnCell::lstm: {
      float* dc = s.dc + n * H + j;
      rnn::lstm_backward<M>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], s.c_prev[n * s.c_prev_ld + j], dht, *dc, dg[j],
                            dg[H + j], dg[2 * H + j], dg[3 * H + j]);
      *dhn = 0.0f;
      break;
    }
    case RnnCell::gru: {
      const float z = g[j], r = g[H + j], hh = g[2 * H + j];
      float dz, dhh, dhp;
      rnn::gru_backward_zh(z, hh, hp, dht, dz, dhh, dhp);
      const float dr = dhh * s.extra[n * s.extra_ld + j] * r * (1.0f - r);
      float* dgr = s.dgr + n * s.dgr_ld;
      dg[j] = dgr[j] = dz;
      dg[H + j] = dgr[H + j] = dr;
      dg[2 * H + j] = dhh;
      dgr[2 * H + j] = dhh * r;
      *dhn = dhp;
      break;
    }
    case RnnCell::gru_reset_before: {
      float dz, dhh, dhp;
      rnn::gru_backward_zh(g[j], g[2 * H + j], hp, dht, dz, dhh, dhp);
      dg[j] = dz;
      dg[2 * H + j] = dhh;
      *dhn = dhp;
      break;
    }
  }
}

// ---- naive LSTM cell: one thread per example ------------------------------------------------

__global__ void lstm_step_forward_naive_kernel(RnnStep s) {
  const int64_t n = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= s.N) return;
  for (int64_t j = 0; j < s.H; ++j) rnn::lstm_unit_forward<M>(s, n, j);
}

__global__ void lstm_step_backward_naive_kernel(RnnStepGrad s) {
  const int64_t n = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= s.N) return;
  for (int64_t j = 0; j < s.H; ++j) rnn::lstm_unit_backward<M>(s, n, j);
}

__global__ void copy_rows_kernel(int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst,
                                 int64_t dst_ld) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const int64_t r = i / cols, c = i % cols;
  dst[r * dst_ld + c] = src ? src[r * src_ld + c] : 0.0f;
}

__global__ void transpose_kernel(int64_t rows, int64_t cols, const float* src, float* dst) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const int64_t c = i / rows, r = i % rows;  // consecutive threads write consecutive dst elements
  dst[c * rows + r] = src[r * cols + c];
}

__global__ void scale_rows_kernel(int64_t rows, int64_t cols, const float* src, int64_t src_ld, const float* m,
                                  int64_t m_ld, int64_t per, float* dst, int64_t dst_ld, bool acc) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const int64_t r = i / cols, c = i % cols;
  const float v = src[r * src_ld + c] * m[r / per * m_ld + c];
  float* d = dst + r * dst_ld + c;
  *d = acc ? *d + v : v;
}

dim3 grid_for(int64_t n) { return dim3(static_cast<unsigned>((n + kBlock - 1) / kBlock)); }

struct CudaBackend {
  cudaStream_t stream;
  bool naive_cell = false;  // the naive LSTM gate kernels above

  void gemm(const GemmArgs& g) const { cuda::gemm(g, GemmVariant::tuned, stream); }
  void step_forward(RnnCell cell, const RnnStep& s, int phase) const {
    if (naive_cell)
      return launch("lstm_step_forward_naive_kernel", lstm_step_forward_naive_kernel, grid_for(s.N), dim3(kBlock), 0,
                    stream, s);
    launch("rnn_step_forward_kernel", step_forward_kernel, grid_for(s.N * s.H), dim3(kBlock), 0, stream, cell, s,
           phase);
  }
  void step_backward(RnnCell cell, const RnnStepGrad& s, int phase) const {
    if (naive_cell)
      return launch("lstm_step_backward_naive_kernel", lstm_step_backward_naive_kernel, grid_for(s.N), dim3(kBlock), 0,
                    stream, s);
    launch("rnn_step_backward_kernel", step_backward_kernel, grid_for(s.N * s.H), dim3(kBlock), 0, stream, cell, s,
           phase);
  }
  void copy_rows(int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst, int64_t dst_ld) const {
    launch("rnn_copy_rows_kernel", copy_rows_kernel, grid_for(rows * cols), dim3(kBlock), 0, stream, rows, cols, src,
           src_ld, dst, dst_ld);
  }
  void bias_backward(int64_t rows, int64_t cols, const float* dy, float* db) const {
    cuda::bias_backward(rows, cols, dy, db, stream);
  }
  void scale_rows(int64_t rows, int64_t cols, const float* src, int64_t src_ld, const float* m, int64_t m_ld,
                  int64_t per, float* dst, int64_t dst_ld, bool acc) const {
    launch("rnn_scale_rows_kernel", scale_rows_kernel, grid_for(rows * cols), dim3(kBlock), 0, stream, rows, cols, src,
           src_ld, m, m_ld, per, dst, dst_ld, acc);
  }
  void transpose(int64_t rows, int64_t cols, const float* src, float* dst) const {
    launch("rnn_transpose_kernel", transpose_kernel, grid_for(rows * cols), dim3(kBlock), 0, stream, rows, cols, src,
           dst);
  }
};

}  // namespace

void rnn_forward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const float* bias,
                 const uint8_t* mask, const float* h0, const float* c0, float* y, float* hT, float* cT, float* ws,
                 KernelVariant variant, cudaStream_t stream) {
  CudaBackend be{stream, variant == KernelVariant::naive && a.cell == RnnCell::lstm};
  rnn_forward_sequence(be, a, x, kernel, rkernel, bias, mask, h0, c0, y, hT, cT, ws);
}

void rnn_backward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const uint8_t* mask,
                  const float* ws, const float* dy, const float* dhT, const float* dcT, float* dx, float* dkernel,
                  float* drkernel, float* dbias, float* dh0, float* dc0, float* scratch, KernelVariant variant,
                  cudaStream_t stream) {
  CudaBackend be{stream, variant == KernelVariant::naive && a.cell == RnnCell::lstm};
  rnn_backward_sequence(be, a, x, kernel, rkernel, mask, ws, dy, dhT, dcT, dx, dkernel, drkernel, dbias, dh0, dc0,
                        scratch);
}

}  // namespace sinapse::cuda
