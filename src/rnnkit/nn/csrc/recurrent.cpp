// rnnkit's CPU recurrence: the loop over time of an LSTM, GRU or Elman layer with the gate arithmetic of each
// step fused into one pass. Built at first use by rnnkit.nn.extension; the equations are rnnkit.nn.functional's.
//
// Each step is the products x_t W_ih^T and h_{t-1} W_hh^T of the running rows (the packed kernels of
// step_gemm.h, accumulating into one buffer that stays in cache) and one pass over the gates (simd.h).
// Products run in the dtype of the weights ("mm_t": the state's dtype, or bfloat16 for bf16-mixed), or in 8 bits
// for the inference precision int8 (int8_gemm.h: each row quantized as it is read); everything else (gates, cell
// state, h) in the state's dtype ("acc_t": float or double). The backward pass runs the
// steps in reverse the same way; the weight gradients are one product each over all steps, by the caller, from
// the inputs and the h_{t-1} the forward pass records.
//
// Variable lengths: the batch is sorted by length (longest first) and batch_sizes[t] sequences are still
// running at step t, so step t touches rows 0 .. batch_sizes[t]-1 only; the other rows keep their state and
// their outputs are zero (PyTorch's PackedSequence convention).
//
// Threads: each sequence's recurrence is its own, so the batch is dealt to the threads once (rows k, k + P,
// ...) and each runs the whole loop over time on its rows: no thread waits for another inside the loop.
//
// Shapes (B batch, T steps, I input, H hidden, G gates: LSTM 4 (i, f, g, o), GRU 3 (r, z, n), Elman 1):
//   x (B, T, I) mm_t;   w_ih (G*H, I) mm_t;   w_hh (G*H, H) mm_t;   b_ih, b_hh (G*H) acc_t;
//   h0, c0 (B, H) acc_t;   out (B, T, H) acc_t;   saved (B, T, S*H) acc_t, what the backward pass reads:
//   LSTM i, f, g, o, c (S = 5); GRU r, z, n, W_hn h + b_hn (S = 4); Elman nothing (h_t is in out).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <vector>

#include "int8_gemm.h"
#include "simd.h"
#include "step_gemm.h"

namespace {

using namespace rnnkit;

enum Mode : int64_t { LSTM = 0, GRU = 1, RNN_TANH = 2, RNN_RELU = 3 };

int64_t gates_of(int64_t mode) { return mode == LSTM ? 4 : mode == GRU ? 3 : 1; }
int64_t saved_of(int64_t mode) { return mode == LSTM ? 5 : mode == GRU ? 4 : 0; }

std::vector<int64_t> running(c10::IntArrayRef batch_sizes, int64_t batch, int64_t steps) {
  if (batch_sizes.empty()) return std::vector<int64_t>(steps, batch);
  TORCH_CHECK(static_cast<int64_t>(batch_sizes.size()) == steps, "batch_sizes must have one entry per step");
  return batch_sizes.vec();
}

// ---- one step of one sequence (row b), in one pass over its G*H gates ------------------------------------
// r: W_ih x_t + W_hh h_{t-1} (G*H); the GRU keeps x: W_ih x_t and r: W_hh h_{t-1} apart (its reset gate scales
// the second only); bx, bh: the biases (LSTM and Elman: b, their sum); h, c: the state, updated in place; o: output.

template <typename acc_t, typename mm_t, bool SAVE>
FLATTEN void lstm_row(int64_t H, const acc_t* r, const acc_t* b, acc_t* h, acc_t* c, acc_t* o,
                      acc_t* sv) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using V = decltype(lane);
    using M = Mem<V>;
    auto gate = [&](int64_t k) {
      const int64_t at = k * H + j;
      return M::load(r + at) + M::load(b + at);
    };
    const V i = sigmoid(gate(0)), f = sigmoid(gate(1)), g = tanh_(gate(2)), og = sigmoid(gate(3));
    const V cn = f * M::load(c + j) + i * g;
    const V hn = og * tanh_(cn);
    M::store(c + j, cn);
    M::store(h + j, hn);
    M::store(o + j, hn);
    if (SAVE) {
      M::store(sv + j, i);
      M::store(sv + H + j, f);
      M::store(sv + 2 * H + j, g);
      M::store(sv + 3 * H + j, og);
      M::store(sv + 4 * H + j, cn);
    }
  });
}

template <typename acc_t, typename mm_t, bool SAVE>
FLATTEN void gru_row(int64_t H, const acc_t* x, const acc_t* r, const acc_t* bx, const acc_t* bh, acc_t* h, acc_t* o,
             acc_t* sv) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using V = decltype(lane);
    using M = Mem<V>;
    auto part = [&](const auto* p, int64_t k) { return M::load(p + k * H + j); };
    const V rg = sigmoid(part(x, 0) + part(bx, 0) + part(r, 0) + part(bh, 0));
    const V z = sigmoid(part(x, 1) + part(bx, 1) + part(r, 1) + part(bh, 1));
    const V hn_ = part(r, 2) + part(bh, 2);  // W_hn h + b_hn: the reset gate scales it
    const V nn = tanh_(part(x, 2) + part(bx, 2) + rg * hn_);
    const V hn = nn + z * (M::load(h + j) - nn);  // (1 - z) n + z h
    M::store(h + j, hn);
    M::store(o + j, hn);
    if (SAVE) {
      M::store(sv + j, rg);
      M::store(sv + H + j, z);
      M::store(sv + 2 * H + j, nn);
      M::store(sv + 3 * H + j, hn_);
    }
  });
}

template <typename acc_t, typename mm_t, bool RELU>
FLATTEN void elman_row(int64_t H, const acc_t* r, const acc_t* b, acc_t* h, acc_t* o) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using V = decltype(lane);
    using M = Mem<V>;
    const V a = M::load(r + j) + M::load(b + j);
    const V hn = RELU ? relu(a) : tanh_(a);
    M::store(h + j, hn);
    M::store(o + j, hn);
  });
}

template <typename acc_t, typename mm_t>
FLATTEN void copy_row(int64_t H, const acc_t* from, mm_t* to) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using M = Mem<decltype(lane)>;
    M::store(to + j, M::load(from + j));
  });
}

// The backward pass of one step of one row. carry: dL/dh_t from outside the recurrent product (the final
// state's gradient, the GRU's z dh_{t+1}); rec: dL/dh_t through W_hh from step t+1 (null if none); go: the
// output's gradient. Writes dL/d(W_ih x_t) to dx and dL/d(W_hh h_{t-1}) to dg (the same tensor for LSTM and
// Elman), adds them to the bias gradients bx and bh (float, the row group's own), and leaves in carry (and dc)
// the part of dL/dh_{t-1} (dL/dc_{t-1}) that skips W_hh.

template <typename V, typename acc_t>
INLINE V incoming(const acc_t* carry, const acc_t* rec, const acc_t* go, int64_t j) {
  using M = Mem<V>;
  return rec ? M::load(carry + j) + M::load(rec + j) + M::load(go + j) : M::load(carry + j) + M::load(go + j);
}

// d[at] = v (in the products' dtype) and bias[at] += v (in the state's).
template <typename V, typename acc_t, typename mm_t>
INLINE void put(mm_t* d, acc_t* bias, int64_t at, V v) {
  Mem<V>::store(d + at, v);
  Mem<V>::store(bias + at, Mem<V>::load(bias + at) + v);
}

template <typename acc_t, typename mm_t>
FLATTEN void lstm_row_backward(int64_t H, const acc_t* go, const acc_t* rec, const acc_t* sv, const acc_t* c_prev,
                               acc_t* carry, acc_t* dc, mm_t* dx, acc_t* bx) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using V = decltype(lane);
    using M = Mem<V>;
    const V dh = incoming<V>(carry, rec, go, j);
    const V i = M::load(sv + j), f = M::load(sv + H + j), g = M::load(sv + 2 * H + j);
    const V o = M::load(sv + 3 * H + j), tc = tanh_(M::load(sv + 4 * H + j));
    const V dct = M::load(dc + j) + dh * o * (1.0f - tc * tc);
    put(dx, bx, j, dct * g * i * (1.0f - i));
    put(dx, bx, H + j, dct * M::load(c_prev + j) * f * (1.0f - f));
    put(dx, bx, 2 * H + j, dct * i * (1.0f - g * g));
    put(dx, bx, 3 * H + j, dh * tc * o * (1.0f - o));
    M::store(dc + j, dct * f);
    M::store(carry + j, V{} * 0.0f);
  });
}

template <typename acc_t, typename mm_t>
FLATTEN void gru_row_backward(int64_t H, const acc_t* go, const acc_t* rec, const acc_t* sv, const acc_t* h_prev,
                              acc_t* carry, mm_t* dx, mm_t* dg, acc_t* bx, acc_t* bh) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using V = decltype(lane);
    using M = Mem<V>;
    const V dh = incoming<V>(carry, rec, go, j);
    const V r = M::load(sv + j), z = M::load(sv + H + j), nn = M::load(sv + 2 * H + j);
    const V hn_ = M::load(sv + 3 * H + j);
    const V dn = dh * (1.0f - z) * (1.0f - nn * nn);
    const V dr = dn * hn_ * r * (1.0f - r);
    const V dz = dh * (M::load(h_prev + j) - nn) * z * (1.0f - z);
    put(dx, bx, j, dr);
    put(dx, bx, H + j, dz);
    put(dx, bx, 2 * H + j, dn);
    put(dg, bh, j, dr);
    put(dg, bh, H + j, dz);
    put(dg, bh, 2 * H + j, dn * r);
    M::store(carry + j, dh * z);
  });
}

template <typename acc_t, typename mm_t, bool RELU>
FLATTEN void elman_row_backward(int64_t H, const acc_t* go, const acc_t* rec, const acc_t* h, acc_t* carry, mm_t* dx,
                                acc_t* bx) {
  over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
    using V = decltype(lane);
    using M = Mem<V>;
    const V dh = incoming<V>(carry, rec, go, j);
    const V hb = M::load(h + j);
    put(dx, bx, j, RELU ? positive_part(hb, dh) : dh * (1.0f - hb * hb));
    M::store(carry + j, V{} * 0.0f);
  });
}

// ---- the recurrent product of one step ------------------------------------------------------------------
// C[0:n] (acc_t, row stride ldc) = A[0:n] (mm_t, row stride lda) * B, B (K x N) a view of W_hh (or of its
// transpose). float32 and bfloat16: the packed kernels of step_gemm.h where compiled (float32 out either way);
// otherwise, and for float64, ATen's GEMM (for bfloat16 a bfloat16 result, then converted).

template <typename acc_t, typename mm_t> struct StepProduct {
  static constexpr bool kReadsState = false;  // reads the state in mm_t, a copy the recurrence keeps
  at::Tensor b;
  static constexpr bool kBF16 = std::is_same_v<mm_t, c10::BFloat16>;
#if defined(RNNKIT_BF16_GEMM)
  static constexpr bool kPacked = std::is_same_v<acc_t, float>;
#elif defined(RNNKIT_STEP_GEMM)
  static constexpr bool kPacked = std::is_same_v<acc_t, float> && !kBF16;
#else
  static constexpr bool kPacked = false;
#endif
#if defined(RNNKIT_STEP_GEMM)
  Packed packed;
#endif

  StepProduct(const at::Tensor& b_view, bool b_is_w_transposed) : b(b_view) {
#if defined(RNNKIT_STEP_GEMM)
    if constexpr (kPacked) {
      const at::Tensor w = b_is_w_transposed ? b_view.t().contiguous() : b_view.contiguous();
      packed = b_is_w_transposed ? pack_transposed<mm_t>(w) : pack_plain<mm_t>(w);
    }
#else
    (void)b_is_w_transposed;
#endif
  }

  // How many row groups run the loop over time side by side: one per thread with the packed kernels (each
  // sequence's recurrence is its own, so the groups never wait for each other); else one, and ATen's GEMM
  // uses the threads within each step.
  int64_t groups(int64_t batch) const {
    return kPacked ? std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), batch)) : 1;
  }

  // C = A B, or C += A B with `accumulate`.
  void operator()(const mm_t* A, int64_t lda, int64_t n, acc_t* C, int64_t ldc, bool accumulate = false) const {
#if defined(RNNKIT_STEP_GEMM)
    if constexpr (kPacked) {
      using Kind = std::conditional_t<kBF16, BF16Kind, F32>;
      step_gemm<Kind>(A, lda, n, packed, C, ldc, accumulate);
      return;
    }
#endif
    const at::Tensor in = at::from_blob(const_cast<mm_t*>(A), {n, b.size(0)}, {lda, 1}, b.options());
    const auto acc = b.options().dtype(c10::CppTypeToScalarType<acc_t>::value);
    at::Tensor out = at::from_blob(C, {n, b.size(1)}, {ldc, 1}, acc);
    if (accumulate) {
      out.add_(at::mm(in, b));
    } else if constexpr (kBF16) {
      out.copy_(at::mm(in, b));
    } else {
      at::mm_out(out, in, b);
    }
  }
};

#if defined(RNNKIT_INT8_GEMM)
// The recurrent product of precision="int8": reads the float32 state and quantizes it per row (int8_gemm.h).
struct Int8Product {
  static constexpr bool kReadsState = true;
  PackedInt8 packed;
  Int8Product(const at::Tensor& w, const at::Tensor& offset, const at::Tensor& scale, int64_t K)
      : packed(w, offset, scale, K) {}
  int64_t groups(int64_t batch) const { return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), batch)); }
  void operator()(const float* A, int64_t lda, int64_t n, float* C, int64_t ldc, bool accumulate = false) const {
    int8_gemm(A, lda, n, packed, C, ldc, accumulate);
  }
};
#endif

// The batch dealt to P row groups, one per thread: group k runs batch rows k, k + P, k + 2P, ... (the batch is
// sorted by length, so each group gets its share of long and short sequences). What a group rewrites every step
// (the state, the products of the step) lives in its own block of "slots", its rows side by side (row i of
// group k at slot k * per + i), so that no two threads write to neighbouring cache lines: with the rows
// interleaved, each of two threads ran 15-30% slower.
struct RowGroup {
  int64_t k, P, rows, per;
  int64_t own(int64_t n) const { return n > k ? (n - k + P - 1) / P : 0; }  // own rows among the first n
  int64_t row(int64_t i) const { return k + i * P; }                        // batch row of own row i
  int64_t slot(int64_t i) const { return k * per + i; }
};

struct RowGroups {
  int64_t P, B, per;
  at::Tensor slots;  // (B,) the slot of each batch row; with one group, slot b is row b (and this stays empty)
  RowGroups(int64_t P_, int64_t B_) : P(P_), B(B_), per((B_ + P_ - 1) / P_) {
    if (P == 1) return;
    const at::Tensor b = at::arange(B, at::kLong);
    slots = b.remainder(P) * per + b.div(P, "floor");
  }
  // rows (B, H) in batch order -> a new (P * per, H) in slots; the slots of no row are zero.
  at::Tensor slotted(const at::Tensor& rows) const {
    return P == 1 ? rows.clone() : rows.new_zeros({P * per, rows.size(1)}).index_copy_(0, slots, rows);
  }
  at::Tensor in_batch_order(const at::Tensor& slotted_rows) const {
    return P == 1 ? slotted_rows : slotted_rows.index_select(0, slots);
  }
  template <typename F> void run(const F& body) const {
    at::parallel_for(0, P, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) body(RowGroup{k, P, k < B ? (B - k + P - 1) / P : 0, per});
    });
  }
};

// ---- forward --------------------------------------------------------------------------------------------

// `input_product` (of x) and `product` (the recurrent one): StepProduct (float32, float64, bfloat16), or
// Int8Product, which reads float32 rows and quantizes them itself.
template <typename acc_t, typename mm_t, typename InputProduct, typename Product>
std::vector<at::Tensor> forward_impl(int64_t mode, const at::Tensor& x, const InputProduct& input_product,
                                     const at::Tensor& h0, const at::Tensor& c0, const Product& product,
                                     const at::Tensor& b_ih, const at::Tensor& b_hh, c10::IntArrayRef batch_sizes,
                                     bool save) {
  using state_in_t = std::conditional_t<Product::kReadsState, acc_t, mm_t>;  // the state as the product reads it
  const int64_t B = x.size(0), T = x.size(1), H = h0.size(1), GH = gates_of(mode) * H;
  const int64_t S = save ? saved_of(mode) : 0, I = x.size(2);
  static_assert(!InputProduct::kReadsState || std::is_same_v<mm_t, acc_t>, "an Int8Product reads float32 rows");
  const auto acc = h0.options();
  const RowGroups groups(product.groups(B), B);
  at::Tensor h = groups.slotted(h0), c = mode == LSTM ? groups.slotted(c0) : at::empty({0}, acc);
  const bool same = Product::kReadsState || x.scalar_type() == h0.scalar_type();
  at::Tensor h_mm = same ? h : h.to(x.scalar_type());  // the state as the recurrent product reads it
  // Per step, the products of the running rows: W_ih x_t + W_hh h_{t-1} into gh (the GRU: W_ih x_t into gx).
  // The same kernel for every row and step: a sequence's numbers never depend on the other rows of its batch.
  at::Tensor gh = at::empty({groups.P * groups.per, GH}, acc);
  at::Tensor gx = at::empty({mode == GRU ? groups.P * groups.per : 0, GH}, acc);
  at::Tensor out = at::empty({B, T, H}, acc);
  at::Tensor saved = at::empty({B, T, S * H}, acc);
  at::Tensor h_prev = at::empty({save ? B : 0, T, H}, x.options());  // h_{t-1} as read, for dL/dW_hh
  const std::vector<int64_t> alive = running(batch_sizes, B, T);

  const mm_t* x_p = x.data_ptr<mm_t>();
  acc_t* gh_p = gh.data_ptr<acc_t>();
  acc_t* gx_p = mode == GRU ? gx.data_ptr<acc_t>() : gh_p;
  const acc_t* bx = b_ih.data_ptr<acc_t>();
  const acc_t* bh = b_hh.data_ptr<acc_t>();
  const at::Tensor b_sum = mode == GRU ? b_ih : b_ih + b_hh;  // LSTM, Elman: both biases join one sum
  const acc_t* bs = b_sum.data_ptr<acc_t>();
  acc_t* h_p = h.data_ptr<acc_t>();
  acc_t* c_p = mode == LSTM ? c.data_ptr<acc_t>() : nullptr;
  state_in_t* hm_p = h_mm.data_ptr<state_in_t>();
  acc_t* out_p = out.data_ptr<acc_t>();
  acc_t* sv_p = saved.data_ptr<acc_t>();
  mm_t* hp_p = save ? h_prev.data_ptr<mm_t>() : nullptr;

  groups.run([&](const RowGroup& group) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t n = group.own(alive[t]);
      for (int64_t i = n; i < group.rows; ++i) {  // sequences already ended: output zero
        const int64_t b = group.row(i);
        std::fill_n(out_p + (b * T + t) * H, H, acc_t(0));
        if (save) std::fill_n(hp_p + (b * T + t) * H, H, mm_t(0));
      }
      if (n == 0) continue;
      input_product(x_p + (group.k * T + t) * I, group.P * T * I, n, gx_p + group.slot(0) * GH, GH);
      product(hm_p + group.slot(0) * H, H, n, gh_p + group.slot(0) * GH, GH, mode != GRU);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t b = group.row(i), s = group.slot(i);
        const acc_t* r = gh_p + s * GH;
        acc_t* hb = h_p + s * H;
        acc_t* o = out_p + (b * T + t) * H;
        acc_t* sv = sv_p + (b * T + t) * S * H;
        if (save) std::copy_n(hm_p + s * H, H, hp_p + (b * T + t) * H);  // h_{t-1} as the products read it
        if (mode == LSTM) {
          if (S) lstm_row<acc_t, mm_t, true>(H, r, bs, hb, c_p + s * H, o, sv);
          else lstm_row<acc_t, mm_t, false>(H, r, bs, hb, c_p + s * H, o, sv);
        } else if (mode == GRU) {
          if (S) gru_row<acc_t, mm_t, true>(H, gx_p + s * GH, r, bx, bh, hb, o, sv);
          else gru_row<acc_t, mm_t, false>(H, gx_p + s * GH, r, bx, bh, hb, o, sv);
        } else if (mode == RNN_RELU) {
          elman_row<acc_t, mm_t, true>(H, r, bs, hb, o);
        } else {
          elman_row<acc_t, mm_t, false>(H, r, bs, hb, o);
        }
        if (!same) copy_row<acc_t, state_in_t>(H, hb, hm_p + s * H);
      }
    }
  });
  return {out, groups.in_batch_order(h), mode == LSTM ? groups.in_batch_order(c) : c, saved, h_prev};
}

// ---- backward -------------------------------------------------------------------------------------------

template <typename acc_t, typename mm_t>
std::vector<at::Tensor> backward_impl(int64_t mode, const at::Tensor& grad_out, const at::Tensor& grad_hn,
                                      const at::Tensor& grad_cn, const at::Tensor& out, const at::Tensor& saved,
                                      const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& w_hh,
                                      c10::IntArrayRef batch_sizes) {
  const int64_t B = out.size(0), T = out.size(1), H = out.size(2), GH = gates_of(mode) * H;
  const int64_t S = saved_of(mode);
  const auto mm_opts = w_hh.options();
  const StepProduct<acc_t, mm_t> product(w_hh, false);
  const RowGroups groups(product.groups(B), B);
  // In slots, as the forward pass's state: carry, dL/dh_t from outside the recurrent product (the final state's
  // gradient, the GRU's z dh), dc, and rec, dL/dh_{t-1} through W_hh from the step after.
  at::Tensor carry = groups.slotted(grad_hn);
  at::Tensor dc = mode == LSTM ? groups.slotted(grad_cn) : at::empty({0}, h0.options());
  at::Tensor rec = at::zeros({groups.P * groups.per, H}, h0.options());
  at::Tensor d_xi = at::empty({B, T, GH}, mm_opts);
  at::Tensor dgh = mode == GRU ? at::empty({B, T, GH}, mm_opts) : d_xi;
  const std::vector<int64_t> alive = running(batch_sizes, B, T);
  at::Tensor bias_grads = at::zeros({groups.P, 2, GH}, h0.options());  // per row group: dL/db_ih, dL/db_hh (GRU)

  const acc_t* go_p = grad_out.data_ptr<acc_t>();
  const acc_t* out_p = out.data_ptr<acc_t>();
  const acc_t* sv_p = saved.data_ptr<acc_t>();
  const acc_t* h0_p = h0.data_ptr<acc_t>();
  const acc_t* c0_p = mode == LSTM ? c0.data_ptr<acc_t>() : nullptr;
  acc_t* carry_p = carry.data_ptr<acc_t>();
  acc_t* dc_p = mode == LSTM ? dc.data_ptr<acc_t>() : nullptr;
  acc_t* rec_p = rec.data_ptr<acc_t>();
  mm_t* dxi_p = d_xi.data_ptr<mm_t>();
  mm_t* dgh_p = dgh.data_ptr<mm_t>();

  groups.run([&](const RowGroup& group) {
    acc_t* bx = bias_grads.data_ptr<acc_t>() + group.k * 2 * GH;
    acc_t* bh = bx + GH;
    int64_t n_after = 0;  // own rows that ran at step t+1: only they received a recurrent gradient
    for (int64_t t = T - 1; t >= 0; --t) {
      const int64_t n = group.own(alive[t]);
      for (int64_t i = n; i < group.rows; ++i) {
        const int64_t b = group.row(i);
        std::fill_n(dxi_p + (b * T + t) * GH, GH, mm_t(0));
        if (mode == GRU) std::fill_n(dgh_p + (b * T + t) * GH, GH, mm_t(0));
      }
      for (int64_t i = 0; i < n; ++i) {
        const int64_t b = group.row(i), s = group.slot(i);
        const acc_t* go = go_p + (b * T + t) * H;
        const acc_t* sv = sv_p + (b * T + t) * S * H;
        const acc_t* rc = i < n_after ? rec_p + s * H : nullptr;
        acc_t* cy = carry_p + s * H;
        mm_t* dx = dxi_p + (b * T + t) * GH;
        if (mode == LSTM) {
          const acc_t* c_prev = t > 0 ? sv_p + (b * T + t - 1) * S * H + 4 * H : c0_p + b * H;
          lstm_row_backward<acc_t, mm_t>(H, go, rc, sv, c_prev, cy, dc_p + s * H, dx, bx);
        } else if (mode == GRU) {
          const acc_t* h_prev = t > 0 ? out_p + (b * T + t - 1) * H : h0_p + b * H;
          gru_row_backward<acc_t, mm_t>(H, go, rc, sv, h_prev, cy, dx, dgh_p + (b * T + t) * GH, bx, bh);
        } else if (mode == RNN_RELU) {
          elman_row_backward<acc_t, mm_t, true>(H, go, rc, out_p + (b * T + t) * H, cy, dx, bx);
        } else {
          elman_row_backward<acc_t, mm_t, false>(H, go, rc, out_p + (b * T + t) * H, cy, dx, bx);
        }
      }
      if (n > 0) {
        product(dgh_p + (group.k * T + t) * GH, group.P * T * GH, n, rec_p + group.slot(0) * H, H);
      }
      n_after = n;
    }
  });
  // dL/dh0: what reached the state from outside plus the recurrent gradient of step 0 (all rows ran at step 0).
  at::Tensor d_h0 = groups.in_batch_order(carry + rec);
  at::Tensor d_b_ih = bias_grads.select(1, 0).sum(0);
  at::Tensor d_b_hh = mode == GRU ? bias_grads.select(1, 1).sum(0) : d_b_ih;
  return {d_xi, dgh, d_h0, mode == LSTM ? groups.in_batch_order(dc) : dc, d_b_ih, d_b_hh};
}

// ---- dispatch -------------------------------------------------------------------------------------------

std::vector<at::Tensor> recurrent_forward(int64_t mode, const at::Tensor& x, const at::Tensor& w_ih,
                                          const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& w_hh,
                                          const at::Tensor& b_ih, const at::Tensor& b_hh, c10::IntArrayRef batch_sizes,
                                          bool save) {
  TORCH_CHECK(x.device().is_cpu(), "rnnkit's recurrence extension runs on the CPU");
  TORCH_CHECK(x.is_contiguous() && h0.is_contiguous() && w_hh.is_contiguous() && w_ih.is_contiguous(),
              "inputs must be contiguous");
  TORCH_CHECK(x.scalar_type() == w_hh.scalar_type() && x.scalar_type() == w_ih.scalar_type(),
              "x, w_ih and w_hh must share the product dtype");
  return dispatch_dtypes(h0.scalar_type(), x.scalar_type(), [&](auto acc, auto mm) {
    using acc_t = decltype(acc);
    using mm_t = decltype(mm);
    const StepProduct<acc_t, mm_t> input_product(w_ih.t(), true), product(w_hh.t(), true);
    return forward_impl<acc_t, mm_t>(mode, x, input_product, h0, c0, product, b_ih, b_hh, batch_sizes, save);
  });
}

// precision="int8" (inference): both products in 8 bits (int8_gemm.h), each weight given quantized and packed
// (rnnkit.nn.recurrence.int8_operands: packed, offset, scale), x, the state and the gates in float32. Returns
// {output, h_n, c_n}.
std::vector<at::Tensor> recurrent_forward_int8(int64_t mode, const at::Tensor& x, const at::Tensor& w_ih,
                                               const at::Tensor& w_ih_offset, const at::Tensor& w_ih_scale,
                                               const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& w_hh,
                                               const at::Tensor& w_hh_offset, const at::Tensor& w_hh_scale,
                                               const at::Tensor& b_ih, const at::Tensor& b_hh,
                                               c10::IntArrayRef batch_sizes) {
#if defined(RNNKIT_INT8_GEMM)
  TORCH_CHECK(x.device().is_cpu(), "rnnkit's recurrence extension runs on the CPU");
  TORCH_CHECK(x.is_contiguous() && h0.is_contiguous(), "inputs must be contiguous");
  TORCH_CHECK(x.scalar_type() == at::kFloat && h0.scalar_type() == at::kFloat, "int8: x and the state in float32");
  const Int8Product input_product(w_ih, w_ih_offset, w_ih_scale, x.size(2));
  const Int8Product product(w_hh, w_hh_offset, w_hh_scale, h0.size(1));
  auto out = forward_impl<float, float>(mode, x, input_product, h0, c0, product, b_ih, b_hh, batch_sizes, false);
  return {out[0], out[1], out[2]};
#else
  (void)mode, (void)x, (void)w_ih, (void)w_ih_offset, (void)w_ih_scale, (void)h0, (void)c0, (void)w_hh;
  (void)w_hh_offset, (void)w_hh_scale, (void)b_ih, (void)b_hh, (void)batch_sizes;
  TORCH_CHECK(false, "rnnkit's extension was built without AVX-512 VNNI: no int8 product");
  return {};
#endif
}

// The product kernels this build has: "float32" (AVX-512), "bfloat16" (AVX-512 BF16), "int8" (AVX-512 VNNI).
std::vector<std::string> compiled_kernels() {
  std::vector<std::string> kernels;
#if defined(RNNKIT_STEP_GEMM)
  kernels.emplace_back("float32");
#endif
#if defined(RNNKIT_BF16_GEMM)
  kernels.emplace_back("bfloat16");
#endif
#if defined(RNNKIT_INT8_GEMM)
  kernels.emplace_back("int8");
#endif
  return kernels;
}

std::vector<at::Tensor> recurrent_backward(int64_t mode, const at::Tensor& grad_out, const at::Tensor& grad_hn,
                                           const at::Tensor& grad_cn, const at::Tensor& out, const at::Tensor& saved,
                                           const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& w_hh,
                                           c10::IntArrayRef batch_sizes) {
  TORCH_CHECK(grad_out.is_contiguous() && out.is_contiguous() && saved.is_contiguous(), "inputs must be contiguous");
  return dispatch_dtypes(h0.scalar_type(), w_hh.scalar_type(), [&](auto acc, auto mm) {
    return backward_impl<decltype(acc), decltype(mm)>(mode, grad_out, grad_hn, grad_cn, out, saved, h0, c0, w_hh,
                                                      batch_sizes);
  });
}

}  // namespace

TORCH_LIBRARY(rnnkit, m) {
  m.def("recurrent_forward(int mode, Tensor x, Tensor w_ih, Tensor h0, Tensor c0, Tensor w_hh, Tensor b_ih, "
        "Tensor b_hh, int[] batch_sizes, bool save) -> Tensor[]");
  m.def("recurrent_backward(int mode, Tensor grad_out, Tensor grad_hn, Tensor grad_cn, Tensor out, Tensor saved, "
        "Tensor h0, Tensor c0, Tensor w_hh, int[] batch_sizes) -> Tensor[]");
  m.def("recurrent_forward_int8(int mode, Tensor x, Tensor w_ih, Tensor w_ih_offset, Tensor w_ih_scale, Tensor h0, "
        "Tensor c0, Tensor w_hh, Tensor w_hh_offset, Tensor w_hh_scale, Tensor b_ih, Tensor b_hh, int[] batch_sizes) "
        "-> Tensor[]");
  m.def("compiled_kernels() -> str[]", &compiled_kernels);
}

TORCH_LIBRARY_IMPL(rnnkit, CPU, m) {
  m.impl("recurrent_forward", &recurrent_forward);
  m.impl("recurrent_backward", &recurrent_backward);
  m.impl("recurrent_forward_int8", &recurrent_forward_int8);
}
