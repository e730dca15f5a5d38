// Recurrent sequence ops (SimpleRNN, LSTM, GRU) on the CPU, forward and backward through
// time. CUDA twin: cuda/rnn.h. The cells, shapes and workspace layout are in
// common/rnn_args.h; the time loop, shared with CUDA, in common/rnn_sequence.h: one GEMM
// for the input projection of all steps, per step one recurrent GEMM (our tuned GEMM,
// gemm.h) and one fused gate kernel (rnn_cells.cpp), and whole-sequence GEMMs for the
// weight gradients. docs/kernels/rnn.md tells the story.
#pragma once

#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../common/cpu_features.h"
#include "../common/kernel_variant.h"
#include "../common/rnn_args.h"

namespace sinapse::cpu {

// This thread's index and the team's size inside a parallel region (0 and 1 without OpenMP):
// the RNN time loops that run in one region give each thread a fixed slice of the units.
struct RnnTeam {
#ifdef _OPENMP
  int tid = omp_get_thread_num(), size = omp_get_num_threads();
#else
  int tid = 0, size = 1;
#endif
};

// See rnn_forward_sequence in common/rnn_sequence.h for the arguments; `ws` holds
// rnn_forward_layout(a).total floats and is what the backward needs. `variant` selects the
// LSTM cell's gate kernel: tuned (rnn_cells.cpp) or naive (rnn_naive.cpp, LSTM only); the
// GEMMs are the tuned GEMM either way.
void rnn_forward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const float* bias,
                 const uint8_t* mask, const float* h0, const float* c0, float* y, float* hT, float* cT, float* ws,
                 KernelVariant variant, SimdPath path, int max_threads);

// `scratch` holds rnn_backward_layout(a).total floats.
void rnn_backward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const uint8_t* mask,
                  const float* ws, const float* dy, const float* dhT, const float* dcT, float* dx, float* dkernel,
                  float* drkernel, float* dbias, float* dh0, float* dc0, float* scratch, KernelVariant variant,
                  SimdPath path, int max_threads);

// One step's fused gate kernel (rnn_cells.cpp). phase: 0, or 1 for the second half of a GRU
// reset_before step (after the U_h GEMM).
void rnn_step_forward(RnnCell cell, const RnnStep& s, int phase, SimdPath path, int max_threads);
void rnn_step_backward(RnnCell cell, const RnnStepGrad& s, int phase, SimdPath path, int max_threads);
// Units [j0, j1) of every row of a step, on the calling thread (phase 0 only).
void rnn_step_forward_units(RnnCell cell, const RnnStep& s, int64_t j0, int64_t j1, SimdPath path);
// The tuned LSTM forward's time loop (rnn_lstm_fused.cpp), after the prologue of
// rnn_forward_sequence (x W + b in the gate buffer, the initial state): each step's recurrent
// product and gate equations in one kernel, U repacked once per call into unit blocks.
void lstm_recurrence_fused(const RnnArgs& a, const RnnForwardLayout& L, const float* rkernel, const uint8_t* mask,
                           float* y, float* hT, float* cT, float* ws, SimdPath path, int max_threads);
// The naive LSTM cell (rnn_naive.cpp): the equations as loops, library expf/tanhf, one thread.
void lstm_step_forward_naive(const RnnStep& s);
void lstm_step_backward_naive(const RnnStepGrad& s);

}  // namespace sinapse::cpu
