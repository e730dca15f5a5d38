// The tuned GEMM: BLIS's five loops around a register-blocked micro-kernel.
//
//   loop 5  jc: N in steps of NC   - a KC x NC panel of B fits in L3
//   loop 4  pc: K in steps of KC   - pack that B panel once; every A block reuses it
//   loop 3  ic: M in steps of MC   - pack an MC x KC block of A; it stays in L2
//   loop 2  jr: NC in steps of NR  - one KC x NR B micro-panel, kept in L1 across loop 1
//   loop 1  ir: MC in steps of MR  - the micro-kernel updates one MR x NR tile of C
//
// Threads: all threads pack the B panel and the A block together (split by micro-panel),
// then split the tiles of the block by rows (ir; GemmSplit::rows, the default) — each thread owns whole rows of C, so
// two threads never write the same cache line (a split by columns would share a line on every row whenever a row's
// length is not a multiple of 64 bytes) — or, when the block has fewer MR-row panels than threads (short-wide shapes, M
// = 1..MR), by columns (jr). A configuration with GemmSplit::cols splits by columns whenever there are enough of them.
// Within a thread the order stays jr outer, ir inner, so its B micro-panel is reused
// across its rows.
//
// A short M (a batch of 32-256 rows) is not cut into MC blocks at all when the whole A
// panel fits the L2 budget: every extra MC block costs two barriers and a B-panel re-read.
#include <algorithm>
#include <cstring>

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "gemm.h"
#include "gemm_pack.h"
#include "gemm_ukernels.h"
#include "simd_run.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sinapse::cpu {

namespace {

int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

int team_size() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// One MR x NR tile of C (rows mr <= MR, columns nr <= NR valid). Full tiles go straight to
// the micro-kernel; edge tiles are computed into a scratch tile and the valid part copied,
// keeping the beta == 0 promise (C not read). A tile at most NR/2 wide runs the left-half
// kernel, when the path has one: half the FMAs for the last panel of N = 100, 10, ...
void compute_tile(const GemmBlocking& bk, int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc,
                  int64_t mr, int64_t nr, float alpha, float beta) {
  const bool half = bk.ukernel_left_half && 2 * nr <= bk.NR;
  const GemmUkernel kernel = half ? bk.ukernel_left_half : bk.ukernel;
  if (mr == bk.MR && nr == (half ? bk.NR / 2 : bk.NR)) {
    kernel(kc, Ap, Bp, C, ldc, alpha, beta);
    return;
  }
  alignas(64) float tile[16 * 64];  // >= MR * NR of every table entry
  kernel(kc, Ap, Bp, tile, bk.NR, alpha, 0.0f);
  for (int64_t i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    const float* t = tile + i * bk.NR;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < nr; ++j) c[j] = t[j];
    } else {
      for (int64_t j = 0; j < nr; ++j) c[j] = t[j] + beta * c[j];
    }
  }
}

// Asks for the C tile of the *next* micro-kernel call while this one computes: C is
// read and written once per K block, and for large matrices it lives in DRAM, whose
// latency the micro-kernel's own prefetch (issued just before it needs C) cannot hide.
void prefetch_tile(const GemmArgs& g, int64_t i, int64_t j, int64_t MR, int64_t NR) {
  const int64_t rows = std::min(MR, g.M - i), cols = std::min(NR, g.N - j);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t col = 0; col < cols; col += 16) __builtin_prefetch(g.C + (i + r) * g.ldc + j + col, 1, 3);
}

}  // namespace

namespace {

// Offset of block (jc, pc) in a PackedB: blocks in loop order (jc outer, pc inner), each
// n_jr * NR * kc floats.
int64_t packed_block_offset(int64_t K, int64_t N, int64_t KC, int64_t NC, int64_t NR, int64_t jc, int64_t pc) {
  int64_t offset = 0;
  for (int64_t j = 0; j < N; j += NC) {
    const int64_t n_jr = (std::min(NC, N - j) + NR - 1) / NR;
    for (int64_t p = 0; p < K; p += KC) {
      if (j == jc && p == pc) return offset;
      offset += n_jr * NR * std::min(KC, K - p);
    }
  }
  return offset;  // (jc, pc) past the end: the total size
}

void tuned(const GemmArgs& g, const PackedB* prepacked, SimdPath path, int max_threads);

}  // namespace

bool PackedB::valid_for(const GemmArgs& g, SimdPath p) const {
  const GemmBlocking bk = gemm_blocking(p);
  return data && g.B == source && g.K == K && g.N == N && g.ldb == ldb && g.trans_b == trans_b && p == path &&
         bk.KC == KC && bk.NC == NC && bk.NR == NR;
}

int64_t gemm_packed_b_floats(const GemmArgs& g, SimdPath path) {
  const GemmBlocking bk = gemm_blocking(path);
  return packed_block_offset(g.K, g.N, bk.KC, bk.NC, bk.NR, g.N, 0);
}

void gemm_pack_b(const GemmArgs& g, SimdPath path, float* data, PackedB& out) {
  const GemmBlocking bk = gemm_blocking(path);
  out = PackedB{g.B, g.K, g.N, g.ldb, bk.KC, bk.NC, bk.NR, g.trans_b, path, data};
  const int64_t b_rs = g.b_row_stride(), b_cs = g.b_col_stride();
  for (int64_t jc = 0; jc < g.N; jc += bk.NC) {
    const int64_t nc = std::min<int64_t>(bk.NC, g.N - jc), n_jr = (nc + bk.NR - 1) / bk.NR;
    for (int64_t pc = 0; pc < g.K; pc += bk.KC) {
      const int64_t kc = std::min<int64_t>(bk.KC, g.K - pc);
      float* block = data + packed_block_offset(g.K, g.N, bk.KC, bk.NC, bk.NR, jc, pc);
      for (int64_t p = 0; p < n_jr; ++p) {
        const int64_t j = jc + p * bk.NR;
        pack_micro_panel(kc, std::min<int64_t>(bk.NR, g.N - j), static_cast<int>(bk.NR), g.B + pc * b_rs + j * b_cs,
                         b_cs, b_rs, block + p * bk.NR * kc, path);
      }
    }
  }
}

void gemm_tuned_prepacked(const GemmArgs& g, const PackedB& packed, SimdPath path, int max_threads) {
  tuned(g, &packed, path, max_threads);
}

void gemm_tuned(const GemmArgs& g, SimdPath path, int max_threads) {
  if (g.M <= kSmallM) return gemm_small_m(g, path, max_threads);
  tuned(g, nullptr, path, max_threads);
}

namespace {

// Where the loops stand: a packed MC x KC block of A (rows ic.., n_ir micro-panels) against a
// packed KC x NC panel of B (columns jc.., n_jr micro-panels).
struct BlockPos {
  int64_t ic, jc, kc, n_ir, n_jr;
  float beta;   // beta of the first K block; later ones accumulate (1)
  bool last_k;  // the last K block: the epilogue (bias, activation) runs after it
};

// Loops 2 and 1 for one thread: its rows of micro-panels (or, for a block with fewer
// micro-panels than threads, its columns), jr outer, ir inner.
void macro_kernel(const GemmArgs& g, const GemmBlocking& bk, const BlockPos& b, const float* Apack, const float* Bpanel,
                  int tid, int nth) {
  const int64_t MR = bk.MR, NR = bk.NR;
  int64_t q_begin = 0, q_end = b.n_ir, p_begin = 0, p_end = b.n_jr;
  if (b.n_ir >= nth && !(bk.split == GemmSplit::cols && b.n_jr >= nth)) {
    q_begin = b.n_ir * tid / nth;
    q_end = b.n_ir * (tid + 1) / nth;
  } else {
    p_begin = b.n_jr * tid / nth;
    p_end = b.n_jr * (tid + 1) / nth;
  }
  for (int64_t p = p_begin; p < p_end; ++p) {
    for (int64_t q = q_begin; q < q_end; ++q) {
      const int64_t i = b.ic + q * MR, j = b.jc + p * NR;
      const int64_t mr = std::min(MR, g.M - i), nr = std::min(NR, g.N - j);
      float* c = g.C + i * g.ldc + j;
      if (q + 1 < q_end)
        prefetch_tile(g, i + MR, j, MR, NR);
      else if (p + 1 < p_end)
        prefetch_tile(g, b.ic + q_begin * MR, j + NR, MR, NR);
      compute_tile(bk, b.kc, Apack + q * MR * b.kc, Bpanel + p * NR * b.kc, c, g.ldc, mr, nr, g.alpha, b.beta);
      if (b.last_k && (g.bias || g.act != Activation::none))
        gemm_epilogue(c, g.ldc, mr, nr, g.bias ? g.bias + j : nullptr, g.act);
    }
  }
}

// The call's thread count, MC, and the packing buffers (the calling thread's: concurrent
// calls from two Python threads each use their own; the OpenMP team of one call shares them).
struct TunedSetup {
  int nthreads;
  int64_t MC;
  float* Apack;
  float* Bpack;
};

TunedSetup setup(const GemmArgs& g, const GemmBlocking& bk, int max_threads) {
  const int64_t MR = bk.MR, NR = bk.NR, KC = bk.KC, NC = bk.NC;
  const int nthreads = threads_for(g.flops(), grain::kFlops, max_threads);
  // Each thread reads only its own rows of the A block, so the L2 budget scales with threads.
  // The budget per thread (half this core's L2, leaving room for the B micro-panels and C)
  // comes with the configuration (gemm_config.cpp).
  const int64_t m_rounded = (g.M + MR - 1) / MR * MR;
  const bool single_block = m_rounded * std::min<int64_t>(KC, g.K) * 4 <= bk.l2_bytes * nthreads;
  const int64_t MC = single_block ? m_rounded : bk.MC;
  const int64_t kc_max = std::min<int64_t>(KC, g.K);
  const int64_t mc_max = std::min<int64_t>(MC, m_rounded);
  const int64_t nc_max = std::min<int64_t>(NC, (g.N + NR - 1) / NR * NR);
  thread_local AlignedBuffer a_buffer, b_buffer;
  return {nthreads, MC, a_buffer.floats(static_cast<size_t>(mc_max * kc_max)),
          b_buffer.floats(static_cast<size_t>(nc_max * kc_max))};
}

void tuned(const GemmArgs& g, const PackedB* prepacked, SimdPath path, int max_threads) {
  note_simd_path(path);
  const GemmBlocking bk = gemm_blocking(path);  // one snapshot for the whole call
  const int64_t MR = bk.MR, NR = bk.NR, KC = bk.KC, NC = bk.NC;
  const TunedSetup s = setup(g, bk, max_threads);
  const int64_t a_rs = g.a_row_stride(), a_cs = g.a_col_stride();
  const int64_t b_rs = g.b_row_stride(), b_cs = g.b_col_stride();

#pragma omp parallel num_threads(s.nthreads) if (s.nthreads > 1)
  {
    const int tid = thread_id(), nth = team_size();
    for (int64_t jc = 0; jc < g.N; jc += NC) {  // loop 5
      const int64_t n_jr = (std::min(NC, g.N - jc) + NR - 1) / NR;
      for (int64_t pc = 0; pc < g.K; pc += KC) {  // loop 4
        const int64_t kc = std::min(KC, g.K - pc);
        const float* Bpanel = s.Bpack;
        if (prepacked) {  // packed before the call (PackedB): nothing to do, no barrier
          Bpanel = prepacked->data + packed_block_offset(g.K, g.N, KC, NC, NR, jc, pc);
        } else {
#pragma omp for schedule(static)
          for (int64_t p = 0; p < n_jr; ++p) {  // pack B[pc:pc+kc, jc:jc+nc], NR wide
            const int64_t j = jc + p * NR;
            pack_micro_panel(kc, std::min(NR, g.N - j), static_cast<int>(NR), g.B + pc * b_rs + j * b_cs, b_cs, b_rs,
                             s.Bpack + p * NR * kc, path);
          }  // implicit barrier: the B panel is complete
        }
        for (int64_t ic = 0; ic < g.M; ic += s.MC) {  // loop 3
          const int64_t n_ir = (std::min(s.MC, g.M - ic) + MR - 1) / MR;
#pragma omp for schedule(static)
          for (int64_t q = 0; q < n_ir; ++q) {  // pack A[ic:ic+mc, pc:pc+kc], MR tall
            const int64_t i = ic + q * MR;
            pack_micro_panel(kc, std::min(MR, g.M - i), static_cast<int>(MR), g.A + i * a_rs + pc * a_cs, a_rs, a_cs,
                             s.Apack + q * MR * kc, path);
          }  // implicit barrier: the A block is complete
          const BlockPos b{ic, jc, kc, n_ir, n_jr, pc == 0 ? g.beta : 1.0f, pc + kc == g.K};
          macro_kernel(g, bk, b, s.Apack, Bpanel, tid, nth);
#pragma omp barrier  // nobody repacks A (or B) while another thread still reads it
        }
      }
    }
  }
}

}  // namespace

}  // namespace sinapse::cpu
