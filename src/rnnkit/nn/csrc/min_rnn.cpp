// minGRU and minLSTM (Feng et al. 2024, "Were RNNs all we needed?"): gates that read the input only, so the
// recurrence is the linear scan h_t = a_t * h_{t-1} + b_t. The cost of these cells is passes over (B, T, H)
// memory, not arithmetic, so the kernels make as few as there are:
//
//   minGRU:  z = sigmoid(k_z), h~ = g(k_h);                 h_t = (1 - z) h_{t-1} + z h~
//   minLSTM: f = sigmoid(k_f), i = sigmoid(k_i), h~ = g(k_h); h_t = f/(f+i) h_{t-1} + i/(f+i) h~
//   g(x) = x + 1/2 for x >= 0, sigmoid(x) below (positive, continuous, as in the paper's log-space version)
//
// where k = W x_t + b, the input projection, G = 2 (z, h) or 3 (f, i, h) blocks of H.
//
// min_rnn_fused_*: the whole layer from x. Each sequence runs its steps in chunks of kChunk: the chunk's
// projection (a product into a buffer that stays in cache), then the gates and the scan over its steps. The
// backward pass recomputes the chunk's projection instead of reading it back (the input is G*H/I times
// smaller), runs the steps in reverse, and turns the chunk's gate gradients into dL/dW and dL/db (summed per
// row group) and dL/dx at once, while they are in cache. Memory sees x and the output forward; x, the output and
// its gradient backward (and dL/dx when asked for). Under bf16-mixed (`bf16`) the projection and dL/dx run on
// the packed bfloat16 kernel of step_gemm.h (twice the float32 rate; the operands rounded to bfloat16 as they are
// read, the sums in float32); dL/dW stays a float32 product.
//
// Shapes: x (B, T, I); w (G*H, I); b (G*H); h0 (B, H); lengths (B) or empty: steps at
// t >= lengths[b] leave the state alone and output zero. Sequences run in parallel (row groups, as in
// recurrent.cpp); each runs its steps in order, H units 16 at a time.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <vector>

#include "simd.h"
#include "step_gemm.h"

namespace {

using namespace rnnkit;

enum MinMode : int64_t { MINGRU = 0, MINLSTM = 1 };
constexpr int64_t kChunk = 64;  // steps per chunk: its projection and gradients (kChunk x G*H) stay in L2
constexpr int64_t kAhead = 8;   // the backward pass asks for the rows of step t - kAhead while at step t

template <typename V> INLINE V g_(V x) { return select_(x, x + 0.5f, sigmoid(x)); }
INLINE double g_(double x) { return x >= 0 ? x + 0.5 : sigmoid(x); }
// g(x) and g'(x) from one sigmoid.
template <typename V> INLINE void g_and_grad(V x, V& g, V& grad) {
  const V s = sigmoid(x);
  g = select_(x, x + 0.5f, s);
  grad = select_(x, s * 0.0f + 1.0f, s * (1.0f - s));
}

int64_t gates_of(int64_t mode) { return mode == MINGRU ? 2 : 3; }
int64_t length_of(c10::IntArrayRef lengths, int64_t b, int64_t steps) { return lengths.empty() ? steps : lengths[b]; }

// One step of one sequence: k (G*H) the projection without its bias, bias (G*H), hp = h_{t-1}; writes h.
template <typename acc_t>
INLINE void min_step(int64_t mode, int64_t H, const acc_t* k, const acc_t* bias, const acc_t* hp, acc_t* h) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using V = decltype(lane);
    using M = Mem<V>;
    auto part = [&](int64_t g) { return M::load(k + g * H + j) + M::load(bias + g * H + j); };
    const V h_prev = M::load(hp + j);
    if (mode == MINGRU) {
      const V z = sigmoid(part(0)), candidate = g_(part(1));
      M::store(h + j, h_prev + z * (candidate - h_prev));
    } else {
      const V f = sigmoid(part(0)), i = sigmoid(part(1)), candidate = g_(part(2));
      M::store(h + j, (f * h_prev + i * candidate) / (f + i));
    }
  });
}

// Its backward pass: go = dL/dh_t from the output, carry = dL/dh_t from step t+1 (updated in place to
// dL/dh_{t-1}); writes dL/dk to dk and adds it to db.
template <typename acc_t>
INLINE void min_step_backward(int64_t mode, int64_t H, const acc_t* k, const acc_t* bias, const acc_t* hp,
                              const acc_t* go, acc_t* carry, acc_t* dk, acc_t* db) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using V = decltype(lane);
    using M = Mem<V>;
    auto part = [&](int64_t g) { return M::load(k + g * H + j) + M::load(bias + g * H + j); };
    auto put = [&](int64_t g, V v) {
      M::store(dk + g * H + j, v);
      M::store(db + g * H + j, M::load(db + g * H + j) + v);
    };
    const V dh = M::load(carry + j) + M::load(go + j), h_prev = M::load(hp + j);
    if (mode == MINGRU) {
      const V z = sigmoid(part(0));
      V candidate, g_grad;
      g_and_grad(part(1), candidate, g_grad);
      put(0, dh * (candidate - h_prev) * z * (1.0f - z));
      put(1, dh * z * g_grad);
      M::store(carry + j, dh * (1.0f - z));
    } else {
      const V f = sigmoid(part(0)), i = sigmoid(part(1)), s = f + i;
      V candidate, g_grad;
      g_and_grad(part(2), candidate, g_grad);
      // h = a hp + c candidate with a = f/s, c = i/s: da/df = i/s^2 = -dc/df, dc/di = f/s^2 = -da/di
      const V da_minus_dc = dh * (h_prev - candidate) / (s * s);
      put(0, da_minus_dc * i * f * (1.0f - f));
      put(1, -da_minus_dc * f * i * (1.0f - i));
      put(2, dh * (i / s) * g_grad);
      M::store(carry + j, dh * (f / s));
    }
  });
}

// C (n x N) = A B, or C += A B: A's element (r, s) at A[r * rs + s * cs], B row-major (K x N, row stride ldb).
// float32: step_gemm.h's in-place kernel where compiled; otherwise (and float64, the gradient checks) ATen's.
template <typename T>
void product(const T* A, int64_t rs, int64_t cs, int64_t n, int64_t K, const T* B, int64_t ldb, int64_t N, T* C,
             int64_t ldc, bool accumulate) {
  if (n == 0 || N == 0) return;
#if defined(RNNKIT_STEP_GEMM)
  if constexpr (std::is_same_v<T, float>) {
    view_gemm(A, rs, cs, n, K, B, ldb, N, C, ldc, accumulate);
    return;
  }
#endif
  const auto options = at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value);
  const at::Tensor a = at::from_blob(const_cast<T*>(A), {n, K}, {rs, cs}, options);
  const at::Tensor b = at::from_blob(const_cast<T*>(B), {K, N}, {ldb, 1}, options);
  at::Tensor c = at::from_blob(C, {n, N}, {ldc, 1}, options);
  if (accumulate) {
    c.addmm_(a, b);
  } else {
    at::mm_out(c, a, b);
  }
}

// The products of a min layer: the projection x W^T (forward, and again backward), dL/dx = dk W and
// dL/dW^T += x^T dk, in float32 (B read in place), or under bf16-mixed in bfloat16: W packed once per call, each
// chunk's operands rounded into the row group's scratch as they are read (x^T and dk paired along the steps, as
// the dot product reads them).
template <typename acc_t> struct MinProducts {
  const acc_t* w;   // (G*H, I)
  const acc_t* wt;  // (I, G*H)
  int64_t I, GH;
  bool bf16 = false;
#if defined(RNNKIT_BF16_GEMM)
  Packed wt_packed, w_packed;  // W^T (K = I) and W (K = G*H), bfloat16
#endif

  MinProducts(const at::Tensor& w_, const at::Tensor& wt_, bool use_bf16)
      : w(w_.data_ptr<acc_t>()), wt(wt_.data_ptr<acc_t>()), I(w_.size(1)), GH(w_.size(0)) {
#if defined(RNNKIT_BF16_GEMM)
    if constexpr (std::is_same_v<acc_t, float>) {
      bf16 = use_bf16;
      if (bf16) {
        const at::Tensor rounded = w_.to(at::kBFloat16);
        wt_packed = pack_transposed<c10::BFloat16>(rounded);
        w_packed = pack_plain<c10::BFloat16>(rounded);
      }
    }
#endif
    TORCH_CHECK(bf16 == use_bf16, "this build of rnnkit's extension has no bfloat16 kernel");
  }
  // The bfloat16 scratch a row group needs: one chunk of x or of dL/dk; then x^T and dL/dk packed.
  int64_t scratch_size() const { return bf16 ? kChunk * std::max(I, GH) + kChunk * I + kChunk * 16 * blocks() : 0; }
  int64_t blocks() const { return (GH + 15) / 16; }

  void projection(const acc_t* xc, int64_t n, acc_t* xi, c10::BFloat16* scratch) const {  // k = x W^T
    multiply(xc, n, I, wt, GH, xi, scratch, /*transposed=*/true);
  }
  void input_grad(const acc_t* dk, int64_t n, acc_t* dxc, c10::BFloat16* scratch) const {  // dL/dx = dk W
    multiply(dk, n, GH, w, I, dxc, scratch, /*transposed=*/false);
  }

  // C (n x N) = A (n x K) B, B (K x N) row-major: W^T (`transposed`) or W, or their packed bfloat16 copies.
  void multiply(const acc_t* A, int64_t n, int64_t K, const acc_t* B, int64_t N, acc_t* C, c10::BFloat16* scratch,
                bool transposed) const {
#if defined(RNNKIT_BF16_GEMM)
    if constexpr (std::is_same_v<acc_t, float>) {
      if (bf16) {
        round_to_bf16(A, n * K, scratch);
        step_gemm<BF16Kind>(scratch, K, n, transposed ? wt_packed : w_packed, C, N);
        return;
      }
    }
#endif
    (void)scratch, (void)transposed;
    product(A, K, 1, n, K, B, N, N, C, N, false);
  }

  // dL/dW^T (I x G*H) += x_c^T dk, x_c (n x I) and dk (n x G*H) row-major.
  void weight_grad(const acc_t* xc, const acc_t* dk, int64_t n, acc_t* d_wt, c10::BFloat16* scratch) const {
#if defined(RNNKIT_BF16_GEMM)
    if constexpr (std::is_same_v<acc_t, float>) {
      if (bf16) {
        c10::BFloat16* x_t = scratch + kChunk * std::max(I, GH);  // (I, n rounded up to even)
        const int64_t pairs = (n + 1) / 2;
        c10::BFloat16* packed = x_t + kChunk * I;
        Packed dk_packed;  // in the scratch
        dk_packed.base = packed;
        dk_packed.K = n, dk_packed.N = GH, dk_packed.steps = pairs, dk_packed.blocks = blocks();
        pair_steps(xc, I, n, [&](int64_t s, int64_t nb, __m512i p) {  // the pair (x[2s][r], x[2s+1][r]) to x_t[r]
          const __m512i rows = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(s)),
                                                _mm512_mullo_epi32(_mm512_set1_epi32(static_cast<int32_t>(pairs)),
                                                                   _mm512_add_epi32(_mm512_set1_epi32(nb * 16),
                                                                                    lane_index())));
          _mm512_mask_i32scatter_epi32(x_t, mask_of(I - nb * 16), rows, p, 4);
        });
        pair_steps(dk, GH, n, [&](int64_t s, int64_t nb, __m512i p) {  // dk's pairs in Packed's layout
          _mm512_storeu_si512(packed + (nb * pairs + s) * 32, p);
        });
        step_gemm<BF16Kind>(x_t, 2 * pairs, I, dk_packed, d_wt, GH, /*accumulate=*/true);
        return;
      }
    }
#endif
    (void)scratch;
    product(xc, 1, I, I, n, dk, GH, GH, d_wt, GH, true);
  }

#if defined(RNNKIT_BF16_GEMM)
  static __m512i lane_index() { return _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0); }
  // For each pair of rows (2s, 2s+1) of `from` (n x N, row stride N; a missing row 2s+1 reads as zero) and each
  // 16-column block nb: the 16 pairs (from[2s][c], from[2s+1][c]) as bfloat16, one 32-bit lane each, to put(s, nb, .).
  template <typename Put> static void pair_steps(const float* from, int64_t N, int64_t n, const Put& put) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int64_t s = 0; 2 * s < n; ++s) {
      const float* first = from + 2 * s * N;
      const float* second = 2 * s + 1 < n ? first + N : nullptr;
      for (int64_t nb = 0; nb * 16 < N; ++nb) {
        const __mmask16 mask = mask_of(N - nb * 16);
        const __m512 a = _mm512_maskz_loadu_ps(mask, first + nb * 16);
        const __m512 b = second ? _mm512_maskz_loadu_ps(mask, second + nb * 16) : _mm512_setzero_ps();
        put(s, nb, _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(b, a)));
      }
    }
  }
#endif

  static void round_to_bf16(const acc_t* from, int64_t count, c10::BFloat16* to) {
    over_units<acc_t>(count, [&](auto lane, int64_t j) LANES {
      using M = Mem<decltype(lane)>;
      M::store(to + j, M::load(from + j));
    });
  }
};

// Row groups: group k of P runs sequences k, k + P, ... (each sequence's recurrence is its own), and owns slot k
// of the per-group sums, so the weight gradients do not depend on how the threads are scheduled.
template <typename F> void for_row_groups(int64_t B, const F& body) {
  const int64_t P = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), B));
  at::parallel_for(0, P, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k)
      for (int64_t b = k; b < B; b += P) body(k, b);
  });
}

int64_t row_groups(int64_t B) { return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), B)); }

// ---- the whole layer from x -----------------------------------------------------------------------------

template <typename acc_t>
std::vector<at::Tensor> fused_forward_impl(int64_t mode, const at::Tensor& x, const at::Tensor& w,
                                           const at::Tensor& bias, const at::Tensor& h0, c10::IntArrayRef lengths,
                                           bool bf16) {
  const int64_t B = x.size(0), T = x.size(1), I = x.size(2), H = h0.size(1), GH = gates_of(mode) * H;
  at::Tensor out = at::empty({B, T, H}, h0.options());
  at::Tensor h_n = at::empty({B, H}, h0.options());
  const at::Tensor w_t = w.t().contiguous();  // (I, G*H): B of the projection
  const MinProducts<acc_t> products(w, w_t, bf16);
  at::Tensor chunks = at::empty({row_groups(B), kChunk, GH}, h0.options());  // each group's projection buffer
  at::Tensor scratch = at::empty({row_groups(B), products.scratch_size()}, at::kBFloat16);
  const acc_t* x_p = x.data_ptr<acc_t>();
  const acc_t* b_p = bias.data_ptr<acc_t>();
  const acc_t* h0_p = h0.data_ptr<acc_t>();
  acc_t* out_p = out.data_ptr<acc_t>();
  acc_t* hn_p = h_n.data_ptr<acc_t>();
  for_row_groups(B, [&](int64_t group, int64_t b) {
    acc_t* xi = chunks.data_ptr<acc_t>() + group * kChunk * GH;
    c10::BFloat16* rounded = scratch.data_ptr<c10::BFloat16>() + group * products.scratch_size();
    const int64_t steps = length_of(lengths, b, T);
    std::fill(out_p + (b * T + steps) * H, out_p + (b + 1) * T * H, acc_t(0));  // padded steps: zero
    for (int64_t t0 = 0; t0 < steps; t0 += kChunk) {
      const int64_t n = std::min(kChunk, steps - t0);
      products.projection(x_p + (b * T + t0) * I, n, xi, rounded);
      for (int64_t t = t0; t < t0 + n; ++t) {
        const acc_t* hp = t > 0 ? out_p + (b * T + t - 1) * H : h0_p + b * H;
        min_step<acc_t>(mode, H, xi + (t - t0) * GH, b_p, hp, out_p + (b * T + t) * H);
      }
    }
    const acc_t* last = steps > 0 ? out_p + (b * T + steps - 1) * H : h0_p + b * H;
    std::copy_n(last, H, hn_p + b * H);
  });
  return {out, h_n};
}

template <typename acc_t>
std::vector<at::Tensor> fused_backward_impl(int64_t mode, const at::Tensor& grad_out, const at::Tensor& grad_hn,
                                            const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                                            const at::Tensor& out, const at::Tensor& h0, c10::IntArrayRef lengths,
                                            bool input_grad, bool bf16) {
  const int64_t B = x.size(0), T = x.size(1), I = x.size(2), H = h0.size(1), GH = gates_of(mode) * H;
  const int64_t P = row_groups(B);
  const at::Tensor w_t = w.t().contiguous();
  const MinProducts<acc_t> products(w, w_t, bf16);
  at::Tensor scratch = at::empty({P, products.scratch_size()}, at::kBFloat16);
  at::Tensor d_x = input_grad ? at::zeros({B, T, I}, x.options()) : at::empty({0}, x.options());
  at::Tensor d_h0 = grad_hn.clone();  // dL/dh_t, carried backwards through time; ends as dL/dh0
  at::Tensor buffers = at::empty({P, 2, kChunk, GH}, h0.options());  // per group: the projection, dL/dk
  at::Tensor sums = at::zeros({P, I + 1, GH}, h0.options());  // per group: dL/dW^T (I, G*H), then dL/db
  const acc_t* go_p = grad_out.data_ptr<acc_t>();
  const acc_t* x_p = x.data_ptr<acc_t>();
  const acc_t* b_p = bias.data_ptr<acc_t>();
  const acc_t* out_p = out.data_ptr<acc_t>();
  const acc_t* h0_p = h0.data_ptr<acc_t>();
  acc_t* dx_p = input_grad ? d_x.data_ptr<acc_t>() : nullptr;
  acc_t* dh_p = d_h0.data_ptr<acc_t>();
  for_row_groups(B, [&](int64_t group, int64_t b) {
    acc_t* xi = buffers.data_ptr<acc_t>() + group * 2 * kChunk * GH;
    acc_t* dk = xi + kChunk * GH;
    acc_t* d_wt = sums.data_ptr<acc_t>() + group * (I + 1) * GH;
    acc_t* db = d_wt + I * GH;
    acc_t* carry = dh_p + b * H;
    c10::BFloat16* rounded = scratch.data_ptr<c10::BFloat16>() + group * products.scratch_size();
    const int64_t steps = length_of(lengths, b, T);
    for (int64_t t0 = (steps - 1) / kChunk * kChunk; steps > 0 && t0 >= 0; t0 -= kChunk) {
      const int64_t n = std::min(kChunk, steps - t0);
      const acc_t* xc = x_p + (b * T + t0) * I;
      products.projection(xc, n, xi, rounded);
      for (int64_t t = t0 + n - 1; t >= t0; --t) {
        const acc_t* hp = t > 0 ? out_p + (b * T + t - 1) * H : h0_p + b * H;
        if (t > kAhead) {
          prefetch(go_p + (b * T + t - kAhead) * H, H * sizeof(acc_t));
          prefetch(out_p + (b * T + t - kAhead - 1) * H, H * sizeof(acc_t));
        }
        min_step_backward<acc_t>(mode, H, xi + (t - t0) * GH, b_p, hp, go_p + (b * T + t) * H, carry,
                                        dk + (t - t0) * GH, db);
      }
      products.weight_grad(xc, dk, n, d_wt, rounded);
      if (input_grad) products.input_grad(dk, n, dx_p + (b * T + t0) * I, rounded);
    }
  });
  at::Tensor totals = sums.sum(0);  // (I + 1, G*H)
  at::Tensor d_w = totals.narrow(0, 0, I).t().contiguous();
  at::Tensor d_b = totals.select(0, I).contiguous();
  return {d_x, d_w, d_b, d_h0};
}

// ---- dispatch -------------------------------------------------------------------------------------------

template <typename F> auto dispatch_float(c10::ScalarType type, const F& f) {
  if (type == c10::kDouble) return f(double{});
  TORCH_CHECK(type == c10::kFloat, "the fused min-RNN kernel computes in float32 or float64, not ", type);
  return f(float{});
}

std::vector<at::Tensor> min_rnn_fused_forward(int64_t mode, const at::Tensor& x, const at::Tensor& w,
                                              const at::Tensor& bias, const at::Tensor& h0, c10::IntArrayRef lengths,
                                              bool bf16) {
  TORCH_CHECK(x.is_contiguous() && w.is_contiguous() && bias.is_contiguous() && h0.is_contiguous(),
              "inputs must be contiguous");
  TORCH_CHECK(x.scalar_type() == h0.scalar_type() && w.scalar_type() == h0.scalar_type(), "one dtype for all");
  return dispatch_float(h0.scalar_type(), [&](auto acc) {
    return fused_forward_impl<decltype(acc)>(mode, x, w, bias, h0, lengths, bf16);
  });
}

std::vector<at::Tensor> min_rnn_fused_backward(int64_t mode, const at::Tensor& grad_out, const at::Tensor& grad_hn,
                                               const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                                               const at::Tensor& out, const at::Tensor& h0, c10::IntArrayRef lengths,
                                               bool input_grad, bool bf16) {
  TORCH_CHECK(grad_out.is_contiguous() && grad_hn.is_contiguous() && out.is_contiguous(), "inputs must be contiguous");
  return dispatch_float(h0.scalar_type(), [&](auto acc) {
    return fused_backward_impl<decltype(acc)>(mode, grad_out, grad_hn, x, w, bias, out, h0, lengths, input_grad,
                                              bf16);
  });
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("min_rnn_fused_forward(int mode, Tensor x, Tensor w, Tensor bias, Tensor h0, int[] lengths, bool bf16) "
        "-> Tensor[]");
  m.def("min_rnn_fused_backward(int mode, Tensor grad_out, Tensor grad_hn, Tensor x, Tensor w, Tensor bias, "
        "Tensor out, Tensor h0, int[] lengths, bool input_grad, bool bf16) -> Tensor[]");
}

TORCH_LIBRARY_IMPL(rnnkit, CPU, m) {
  m.impl("min_rnn_fused_forward", &min_rnn_fused_forward);
  m.impl("min_rnn_fused_backward", &min_rnn_fused_backward);
}
