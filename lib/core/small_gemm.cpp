#include "core/small_gemm.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>
// GCC 12 flags _mm512_undefined_ps() inside xsimd's AVX-512 intrinsics as (maybe-)uninitialized:
// a known false positive (see kernels.cpp), silenced for this file.
#ifndef __clang__  // a g++ warning only
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <xsimd/xsimd.hpp>
#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace attn::detail {

namespace {

// The widest batch of the build (16 floats with AVX-512) and, where it exists, a narrower one
// of 8 for products of at most 8 columns (attention scores on 8-token sentences), which the
// wide batch would pad to 16.
using wide = xsimd::batch<float>;
#if XSIMD_WITH_AVX512F
using narrow = xsimd::batch<float, xsimd::avx2>;
#else
using narrow = wide;
#endif
// A tile of C is up to MR rows by NV batches of columns, its accumulators held in registers:
// 8 x 2 (16 accumulators) where AVX-512 gives 32 vector registers, 4 x 2 with AVX2's 16.
#if XSIMD_WITH_AVX512F
constexpr std::size_t MR = 8;
#else
constexpr std::size_t MR = 4;
#endif
constexpr std::size_t NV = 2;
// Products up to this many multiply-adds go to small_gemm (see is_small_gemm), if their packed
// op(B) stays within packed_limit floats (256 KB, an L2 cache).
constexpr double small_work = 1 << 20;
constexpr std::size_t packed_limit = 1 << 16;

#if defined(__AVX__)
// dst [8,8] (leading dimension ldd) = src [8,8]ᵀ (leading dimension lds), unaligned.
inline void transpose8(const float* src, std::size_t lds, float* dst, std::size_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {  // pairs of rows interleaved
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {  // then pairs of pairs: each 128-bit lane holds a 4 × 4 block's column
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {  // the low lanes of rows 0-3 with those of rows 4-7, then the high
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

// op(B) [K,N] copied to Bp [K,Np], Np = N rounded up to whole batches, the padding zero: every
// row of a tile then loads whole aligned batches. Thread-local, grown on demand.
float* pack_b(bool trans_b, std::size_t N, std::size_t K, const float* B, std::size_t ldb, std::size_t Np) {
  thread_local std::vector<float, xsimd::aligned_allocator<float>> packed;
  if (packed.size() < K * Np) packed.resize(K * Np);
  float* Bp = packed.data();
  if (!trans_b) {  // B stored [K,N]
    for (std::size_t k = 0; k < K; ++k) {
      std::memcpy(Bp + k * Np, B + k * ldb, N * sizeof(float));
      std::fill(Bp + k * Np + N, Bp + (k + 1) * Np, 0.0f);
    }
  } else {  // B stored [N,K]: Bp[k][j] = B[j][k], in blocks of 8 × 8 where the CPU has AVX
    for (std::size_t k = 0; k < K; ++k) std::fill(Bp + k * Np + N, Bp + (k + 1) * Np, 0.0f);
    std::size_t j = 0;
#if defined(__AVX__)
    for (; j + 8 <= N; j += 8) {
      std::size_t k = 0;
      for (; k + 8 <= K; k += 8) transpose8(B + j * ldb + k, ldb, Bp + k * Np + j, Np);
      for (; k < K; ++k)
        for (std::size_t c = 0; c < 8; ++c) Bp[k * Np + j + c] = B[(j + c) * ldb + k];
    }
#endif
    for (; j < N; ++j)
      for (std::size_t k = 0; k < K; ++k) Bp[k * Np + j] = B[j * ldb + k];
  }
  return Bp;
}

// C tile [R, cols] (cols <= V·W) = alpha · Σ_k a(r, k) · Bp[k, 0 .. V·W) + beta · C, where
// a(r, k) = A[r·ar + k·ak] (op(A) read in place, ar/ak its row and column strides) and Bp's rows
// are ldp floats apart.
template <class batch, std::size_t R, std::size_t V>
void tile(std::size_t K, const float* A, std::size_t ar, std::size_t ak, const float* Bp, std::size_t ldp, float alpha,
          float beta, float* C, std::size_t ldc, std::size_t cols) {
  constexpr std::size_t W = batch::size;
  batch acc[R][V];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t v = 0; v < V; ++v) acc[r][v] = batch(0.0f);
  for (std::size_t k = 0; k < K; ++k) {
    batch b[V];
    for (std::size_t v = 0; v < V; ++v) b[v] = batch::load_unaligned(Bp + k * ldp + v * W);
    for (std::size_t r = 0; r < R; ++r) {
      const batch a(A[r * ar + k * ak]);
      for (std::size_t v = 0; v < V; ++v) acc[r][v] = xsimd::fma(a, b[v], acc[r][v]);
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    float* c = C + r * ldc;
    for (std::size_t v = 0; v < V && v * W < cols; ++v) {
      const std::size_t m = std::min(W, cols - v * W);
      batch x = alpha * acc[r][v];
      if (m == W) {
        if (beta != 0.0f) x += beta * batch::load_unaligned(c + v * W);
        x.store_unaligned(c + v * W);
      } else {
        alignas(64) float part[W];
        x.store_aligned(part);
        for (std::size_t j = 0; j < m; ++j) {
          float& cj = c[v * W + j];
          cj = beta != 0.0f ? part[j] + beta * cj : part[j];
        }
      }
    }
  }
}

// The tiles of one block of R rows, across all columns: Bp holds N columns padded to Np (whole
// batches), its rows ldp floats apart.
template <class batch, std::size_t R>
void row_block(std::size_t N, std::size_t K, const float* A, std::size_t ar, std::size_t ak, const float* Bp,
               std::size_t ldp, std::size_t Np, float alpha, float beta, float* C, std::size_t ldc) {
  constexpr std::size_t W = batch::size;
  std::size_t j = 0;
  for (; j + NV * W <= Np; j += NV * W)
    tile<batch, R, NV>(K, A, ar, ak, Bp + j, ldp, alpha, beta, C + j, ldc, std::min(N - j, NV * W));
  if (j < Np) tile<batch, R, 1>(K, A, ar, ak, Bp + j, ldp, alpha, beta, C + j, ldc, N - j);
}

// The last `left` (< MR) rows: one row block of exactly that many.
template <class batch, std::size_t R>
void rows_left(std::size_t left, std::size_t N, std::size_t K, const float* A, std::size_t ar, std::size_t ak,
               const float* Bp, std::size_t ldp, std::size_t Np, float alpha, float beta, float* C, std::size_t ldc) {
  if constexpr (R > 0) {
    if (left == R)
      row_block<batch, R>(N, K, A, ar, ak, Bp, ldp, Np, alpha, beta, C, ldc);
    else
      rows_left<batch, R - 1>(left, N, K, A, ar, ak, Bp, ldp, Np, alpha, beta, C, ldc);
  }
}

template <class batch>
void run(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
         std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) {
  constexpr std::size_t W = batch::size;
  const std::size_t Np = (N + W - 1) / W * W;
  // op(B) = B stored [K,N] with whole batches of columns is read in place; else packed
  const bool in_place = !trans_b && Np == N;
  const float* Bp = in_place ? B : pack_b(trans_b, N, K, B, ldb, Np);
  const std::size_t ldp = in_place ? ldb : Np;
  // op(A)(i, k): A[i·lda + k] (A stored [M,K]) or A[k·lda + i] (stored [K,M]).
  const std::size_t ar = trans_a ? 1 : lda, ak = trans_a ? lda : 1;
  std::size_t i = 0;
  for (; i + MR <= M; i += MR)
    row_block<batch, MR>(N, K, A + i * ar, ar, ak, Bp, ldp, Np, alpha, beta, C + i * ldc, ldc);
  if (i < M) rows_left<batch, MR - 1>(M - i, N, K, A + i * ar, ar, ak, Bp, ldp, Np, alpha, beta, C + i * ldc, ldc);
}

}  // namespace

bool is_small_gemm(std::size_t M, std::size_t N, std::size_t K) {
  const std::size_t Np = (N + wide::size - 1) / wide::size * wide::size;  // the wider padding
  return static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) <= small_work &&
         static_cast<double>(K) * static_cast<double>(Np) <= packed_limit;
}

void small_gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
                std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) {
  // The width that needs fewer batches per row of C (each batch is one instruction, whatever
  // its width), the narrow one when they tie: 8 columns take one batch of either.
  const std::size_t wide_batches = (N + wide::size - 1) / wide::size;
  const std::size_t narrow_batches = (N + narrow::size - 1) / narrow::size;
  constexpr bool two_widths = !std::is_same_v<narrow, wide>;  // without AVX-512 they are one type
  if (two_widths && narrow_batches <= wide_batches)
    run<narrow>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    run<wide>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace attn::detail
