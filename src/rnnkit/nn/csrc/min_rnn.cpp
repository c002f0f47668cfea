// minGRU and minLSTM (Feng et al. 2024, "Were RNNs all we needed?"): gates that read the input only, so the
// recurrence is the linear scan h_t = a_t * h_{t-1} + b_t. This kernel fuses the gates and the scan into one
// pass over the input projection forward and one backward, the least memory traffic there is: the cost of
// these cells is passes over (B, T, H) memory, not arithmetic.
//
//   minGRU:  z = sigmoid(k_z), h~ = g(k_h);                 h_t = (1 - z) h_{t-1} + z h~
//   minLSTM: f = sigmoid(k_f), i = sigmoid(k_i), h~ = g(k_h); h_t = f/(f+i) h_{t-1} + i/(f+i) h~
//   g(x) = x + 1/2 for x >= 0, sigmoid(x) below (positive, continuous, as in the paper's log-space version)
//
// Shapes: xi (B, T, G*H), the input projection W x_t + b with G = 2 (z, h) or 3 (f, i, h); h0 (B, H);
// lengths (B) or empty: steps at t >= lengths[b] leave the state alone and output zero.
// Sequences run in parallel; each runs its steps in order, H units 16 at a time.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <vector>

#include "simd.h"

namespace {

using namespace rnnkit;

enum MinMode : int64_t { MINGRU = 0, MINLSTM = 1 };

template <typename V> INLINE V g_(V x) { return select_(x, x + 0.5f, sigmoid(x)); }
template <typename V> INLINE V g_grad(V x) {
  const V s = sigmoid(x);
  return select_(x, V{} + 1.0f, s * (1.0f - s));
}
INLINE double g_(double x) { return x >= 0 ? x + 0.5 : sigmoid(x); }
INLINE double g_grad(double x) { return x >= 0 ? 1.0 : sigmoid(x) * (1.0 - sigmoid(x)); }

int64_t length_of(c10::IntArrayRef lengths, int64_t b, int64_t steps) { return lengths.empty() ? steps : lengths[b]; }

template <typename acc_t, typename mm_t>
FLATTEN std::vector<at::Tensor> forward_impl(int64_t mode, const at::Tensor& xi, const at::Tensor& h0,
                                     c10::IntArrayRef lengths) {
  const int64_t B = xi.size(0), T = xi.size(1), H = h0.size(1), G = mode == MINGRU ? 2 : 3;
  at::Tensor out = at::empty({B, T, H}, h0.options());
  at::Tensor h_n = at::empty({B, H}, h0.options());
  const mm_t* xi_p = xi.data_ptr<mm_t>();
  const acc_t* h0_p = h0.data_ptr<acc_t>();
  acc_t* out_p = out.data_ptr<acc_t>();
  acc_t* hn_p = h_n.data_ptr<acc_t>();
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t steps = length_of(lengths, b, T);
      std::fill(out_p + (b * T + steps) * H, out_p + (b + 1) * T * H, acc_t(0));  // padded steps: zero
      for (int64_t t = 0; t < steps; ++t) {
        const mm_t* k = xi_p + (b * T + t) * G * H;
        const acc_t* h_prev = t > 0 ? out_p + (b * T + t - 1) * H : h0_p + b * H;
        acc_t* h = out_p + (b * T + t) * H;
        over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
          using V = decltype(lane);
          using M = Mem<V>;
          if (mode == MINGRU) {
            const V z = sigmoid(M::load(k + j)), candidate = g_(M::load(k + H + j));
            M::store(h + j, M::load(h_prev + j) + z * (candidate - M::load(h_prev + j)));
          } else {
            const V f = sigmoid(M::load(k + j)), i = sigmoid(M::load(k + H + j));
            const V candidate = g_(M::load(k + 2 * H + j));
            M::store(h + j, (f * M::load(h_prev + j) + i * candidate) / (f + i));
          }
        });
      }
      const acc_t* last = steps > 0 ? out_p + (b * T + steps - 1) * H : h0_p + b * H;
      std::copy_n(last, H, hn_p + b * H);
    }
  });
  return {out, h_n};
}

template <typename acc_t, typename mm_t>
FLATTEN std::vector<at::Tensor> backward_impl(int64_t mode, const at::Tensor& grad_out, const at::Tensor& grad_hn,
                                      const at::Tensor& xi, const at::Tensor& out, const at::Tensor& h0,
                                      c10::IntArrayRef lengths) {
  const int64_t B = xi.size(0), T = xi.size(1), H = h0.size(1), G = mode == MINGRU ? 2 : 3;
  at::Tensor d_xi = at::empty({B, T, G * H}, xi.options());
  at::Tensor d_h0 = grad_hn.clone();  // dL/dh_t, carried backwards through time; ends as dL/dh0
  const acc_t* go_p = grad_out.data_ptr<acc_t>();
  const mm_t* xi_p = xi.data_ptr<mm_t>();
  const acc_t* out_p = out.data_ptr<acc_t>();
  const acc_t* h0_p = h0.data_ptr<acc_t>();
  mm_t* dxi_p = d_xi.data_ptr<mm_t>();
  acc_t* dh_p = d_h0.data_ptr<acc_t>();
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      acc_t* carry = dh_p + b * H;
      const int64_t steps = length_of(lengths, b, T);
      std::fill(dxi_p + (b * T + steps) * G * H, dxi_p + (b + 1) * T * G * H, mm_t(0));  // padded steps: zero
      for (int64_t t = steps - 1; t >= 0; --t) {
        const mm_t* k = xi_p + (b * T + t) * G * H;
        mm_t* dk = dxi_p + (b * T + t) * G * H;
        const acc_t* go = go_p + (b * T + t) * H;
        const acc_t* h_prev = t > 0 ? out_p + (b * T + t - 1) * H : h0_p + b * H;
        over_units<acc_t>(H, [&](auto lane, int64_t j) LANES {
          using V = decltype(lane);
          using M = Mem<V>;
          const V dh = M::load(carry + j) + M::load(go + j), hp = M::load(h_prev + j);
          if (mode == MINGRU) {
            const V kh = M::load(k + H + j), z = sigmoid(M::load(k + j)), candidate = g_(kh);
            M::store(dk + j, dh * (candidate - hp) * z * (1.0f - z));
            M::store(dk + H + j, dh * z * g_grad(kh));
            M::store(carry + j, dh * (1.0f - z));
          } else {
            const V kh = M::load(k + 2 * H + j), f = sigmoid(M::load(k + j)), i = sigmoid(M::load(k + H + j));
            const V s = f + i, candidate = g_(kh);
            // h = a hp + c candidate with a = f/s, c = i/s: da/df = i/s^2 = -dc/df, dc/di = f/s^2 = -da/di
            const V da_minus_dc = dh * (hp - candidate) / (s * s);
            M::store(dk + j, da_minus_dc * i * f * (1.0f - f));
            M::store(dk + H + j, -da_minus_dc * f * i * (1.0f - i));
            M::store(dk + 2 * H + j, dh * (i / s) * g_grad(kh));
            M::store(carry + j, dh * (f / s));
          }
        });
      }
    }
  });
  return {d_xi, d_h0};
}

std::vector<at::Tensor> min_rnn_forward(int64_t mode, const at::Tensor& xi, const at::Tensor& h0,
                                        c10::IntArrayRef lengths) {
  TORCH_CHECK(xi.is_contiguous() && h0.is_contiguous() && xi.scalar_type() == h0.scalar_type(),
              "xi and h0: contiguous, one dtype");
  return dispatch_dtypes(h0.scalar_type(), xi.scalar_type(), [&](auto acc, auto mm) {
    return forward_impl<decltype(acc), decltype(mm)>(mode, xi, h0, lengths);
  });
}

std::vector<at::Tensor> min_rnn_backward(int64_t mode, const at::Tensor& grad_out, const at::Tensor& grad_hn,
                                         const at::Tensor& xi, const at::Tensor& out, const at::Tensor& h0,
                                         c10::IntArrayRef lengths) {
  TORCH_CHECK(grad_out.is_contiguous() && grad_hn.is_contiguous() && out.is_contiguous(), "inputs must be contiguous");
  return dispatch_dtypes(h0.scalar_type(), xi.scalar_type(), [&](auto acc, auto mm) {
    return backward_impl<decltype(acc), decltype(mm)>(mode, grad_out, grad_hn, xi, out, h0, lengths);
  });
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("min_rnn_forward(int mode, Tensor xi, Tensor h0, int[] lengths) -> Tensor[]");
  m.def("min_rnn_backward(int mode, Tensor grad_out, Tensor grad_hn, Tensor xi, Tensor out, Tensor h0, "
        "int[] lengths) -> Tensor[]");
}

TORCH_LIBRARY_IMPL(rnnkit, CPU, m) {
  m.impl("min_rnn_forward", &min_rnn_forward);
  m.impl("min_rnn_backward", &min_rnn_backward);
}
