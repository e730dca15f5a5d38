// Recurrent sequence ops (SimpleRNN, LSTM, GRU) on the GPU, forward and backward through
// time. CPU twin: cpu/rnn.h (same arguments; all pointers are device pointers). The time loop
// is common/rnn_sequence.h's, run on the host: it launches our GEMM (gemm.h) and the gate
// kernels of rnn.cu on `stream`, in order, with no allocation and no synchronisation.
#pragma once

#include <cstdint>

#include "../common/kernel_variant.h"
#include "../common/rnn_args.h"
#include "check.h"

namespace sinapse::cuda {

// `variant` selects the LSTM cell's gate kernel: tuned (one thread per (example, unit)) or
// naive (one thread per example walks its units: the CPU loop ported; LSTM only). The GEMMs
// are the tuned GEMM either way.
void rnn_forward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const float* bias,
                 const uint8_t* mask, const float* h0, const float* c0, float* y, float* hT, float* cT, float* ws,
                 KernelVariant variant, cudaStream_t stream);

void rnn_backward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const uint8_t* mask,
                  const float* ws, const float* dy, const float* dhT, const float* dcT, float* dx, float* dkernel,
                  float* drkernel, float* dbias, float* dh0, float* dc0, float* scratch, KernelVariant variant,
                  cudaStream_t stream);

}  // namespace sinapse::cuda
