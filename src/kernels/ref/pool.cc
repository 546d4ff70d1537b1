// Pooling: MaxPool (with optional Indices), AveragePool, LpPool and their Global forms.
#include <array>
#include <cmath>
#include <limits>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/spatial.h"

namespace ep::kernels::ref {
namespace {

enum class PoolOp { max, average, lp };

using Dims3 = std::array<int64_t, kMaxSpatial>;

Dims3 to_dims3(const std::vector<int64_t>& v) { return {v[0], v[1], v[2]}; }

struct PoolPlan {
  PoolOp op = PoolOp::max;
  int64_t planes = 0;  // N * C
  Dims3 in{}, out{}, kernel{}, stride{}, dilation{}, pad_begin{}, pad_end{};
  bool count_include_pad = false;
  bool column_major_indices = false;  // MaxPool storage_order = 1
  double p = 2;                       // LpPool norm
};

template <typename T>
void pool_plane(const PoolPlan& p, const T* x, T* y, int64_t* indices, int64_t plane_base) {
  const int64_t in_size = p.in[0] * p.in[1] * p.in[2];
  for (int64_t od = 0; od < p.out[0]; ++od)
    for (int64_t oh = 0; oh < p.out[1]; ++oh)
      for (int64_t ow = 0; ow < p.out[2]; ++ow) {
        const int64_t o[3] = {od, oh, ow};
        double acc = p.op == PoolOp::max ? -std::numeric_limits<double>::infinity() : 0.0;
        T best = std::numeric_limits<T>::lowest();
        int64_t best_at = -1, inside = 1, padded = 1;
        for (int i = 0; i < 3; ++i) {  // tap counts are per-dim products
          int64_t in_cnt = 0, pad_cnt = 0;
          for (int64_t k = 0; k < p.kernel[i]; ++k) {
            const int64_t pos = o[i] * p.stride[i] - p.pad_begin[i] + k * p.dilation[i];
            in_cnt += pos >= 0 && pos < p.in[i];
            pad_cnt += pos >= -p.pad_begin[i] && pos < p.in[i] + p.pad_end[i];
          }
          inside *= in_cnt;
          padded *= pad_cnt;
        }
        for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
          const int64_t id = od * p.stride[0] - p.pad_begin[0] + kd * p.dilation[0];
          if (id < 0 || id >= p.in[0]) continue;
          for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
            const int64_t ih = oh * p.stride[1] - p.pad_begin[1] + kh * p.dilation[1];
            if (ih < 0 || ih >= p.in[1]) continue;
            for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
              const int64_t iw = ow * p.stride[2] - p.pad_begin[2] + kw * p.dilation[2];
              if (iw < 0 || iw >= p.in[2]) continue;
              const int64_t at = (id * p.in[1] + ih) * p.in[2] + iw;
              const T v = x[at];
              if (p.op == PoolOp::max) {
                if (best_at < 0 || v > best) {
                  best = v;
                  best_at = p.column_major_indices ? id + ih * p.in[0] + iw * p.in[0] * p.in[1] : at;
                }
              } else if (p.op == PoolOp::average) {
                acc += static_cast<double>(v);
              } else {
                acc += std::pow(std::fabs(static_cast<double>(v)), p.p);
              }
            }
          }
        }
        const int64_t out_at = (od * p.out[1] + oh) * p.out[2] + ow;
        if (p.op == PoolOp::max) {
          y[out_at] = best;
          if (indices) indices[out_at] = best_at < 0 ? -1 : plane_base * in_size + best_at;
        } else if (p.op == PoolOp::average) {
          const int64_t count = p.count_include_pad ? padded : inside;
          y[out_at] = static_cast<T>(count > 0 ? acc / static_cast<double>(count) : 0.0);
        } else {
          y[out_at] = static_cast<T>(std::pow(acc, 1.0 / p.p));
        }
      }
}

class PoolKernel final : public Kernel {
 public:
  PoolKernel(PoolOp op, bool global) : global_(global) { p_.op = op; }

  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    const bool small_int = x.dtype == DType::i8 || x.dtype == DType::u8;
    if (!(x.dtype == DType::f32 || x.dtype == DType::f64 || (small_int && p_.op == PoolOp::max)))
      return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (x.shape.rank() < 3) return ctx.error("input rank ", x.shape.rank(), ", expected at least 3 (N, C, spatial...)");
    if (!x.shape.is_static()) return ctx.unsupported_error("input shape ", x.shape.to_string(), " is not static");
    const size_t rank = x.shape.rank() - 2;
    const std::vector<int64_t> in_sp(x.shape.dims().begin() + 2, x.shape.dims().end());
    if (p_.op == PoolOp::lp) {
      EP_ASSIGN_OR_RETURN(int64_t pv, n.attr_int("p", 2));
      if (pv < 1) return ctx.error("p ", pv, " must be at least 1");
      p_.p = static_cast<double>(pv);
    }
    std::vector<int64_t> out_sp;
    if (global_) {
      if (rank > kMaxSpatial) return ctx.unsupported_error(rank, " spatial dims");
      Window w;
      w.rank = rank;
      w.kernel = in_sp;
      w.strides = w.dilations = std::vector<int64_t>(rank, 1);
      w.pad_begin = w.pad_end = std::vector<int64_t>(rank, 0);
      plan(w, in_sp, std::vector<int64_t>(rank, 1));
      out_sp.assign(rank, 1);
    } else {
      EP_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, n.attr_ints("kernel_shape"));
      EP_ASSIGN_OR_RETURN(Window w, read_window(ctx, rank, kernel));
      EP_ASSIGN_OR_RETURN(int64_t ceil_mode, n.attr_int("ceil_mode", 0));
      EP_ASSIGN_OR_RETURN(int64_t include_pad, n.attr_int("count_include_pad", 0));
      EP_ASSIGN_OR_RETURN(int64_t storage_order, n.attr_int("storage_order", 0));
      if (ceil_mode != 0 && ceil_mode != 1) return ctx.error("ceil_mode ", ceil_mode, " is not 0 or 1");
      if (storage_order != 0 && storage_order != 1) return ctx.error("storage_order ", storage_order, " is not 0 or 1");
      p_.count_include_pad = include_pad != 0;
      p_.column_major_indices = storage_order == 1;
      EP_ASSIGN_OR_RETURN(out_sp, forward_output_sizes(ctx, w, in_sp, ceil_mode == 1));
      plan(w, in_sp, out_sp);
    }
    std::vector<int64_t> out_dims = {x.shape[0], x.shape[1]};
    out_dims.insert(out_dims.end(), out_sp.begin(), out_sp.end());
    p_.planes = x.shape[0] * x.shape[1];
    ctx.set_output(0, x.dtype, Shape(out_dims));
    if (ctx.output_requested(1)) {
      if (p_.op != PoolOp::max || global_) return ctx.error("has a second output, which only MaxPool defines");
      ctx.set_output(1, DType::i64, Shape(out_dims));
    }
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    int64_t* indices = ctx.outputs.size() > 1 ? ctx.outputs[1].as<int64_t>() : nullptr;
    const int64_t in_size = p_.in[0] * p_.in[1] * p_.in[2], out_size = p_.out[0] * p_.out[1] * p_.out[2];
    dispatch<float, double, int8_t, uint8_t>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      for (int64_t pl = 0; pl < p_.planes; ++pl)
        pool_plane<T>(p_, x.as<T>() + pl * in_size, ctx.outputs[0].as<T>() + pl * out_size,
                      indices ? indices + pl * out_size : nullptr, pl);
    });
    return Status::ok();
  }

 private:
  void plan(const Window& w, const std::vector<int64_t>& in_sp, const std::vector<int64_t>& out_sp) {
    const Window w3 = w.padded_to_3d();
    p_.in = to_dims3(spatial_3d(in_sp, w.rank));
    p_.out = to_dims3(spatial_3d(out_sp, w.rank));
    p_.kernel = to_dims3(w3.kernel);
    p_.stride = to_dims3(w3.strides);
    p_.dilation = to_dims3(w3.dilations);
    p_.pad_begin = to_dims3(w3.pad_begin);
    p_.pad_end = to_dims3(w3.pad_end);
  }

  bool global_;
  PoolPlan p_;
};

}  // namespace

std::unique_ptr<Kernel> make_max_pool() { return std::make_unique<PoolKernel>(PoolOp::max, false); }
std::unique_ptr<Kernel> make_average_pool() { return std::make_unique<PoolKernel>(PoolOp::average, false); }
std::unique_ptr<Kernel> make_lp_pool() { return std::make_unique<PoolKernel>(PoolOp::lp, false); }
std::unique_ptr<Kernel> make_global_average_pool() { return std::make_unique<PoolKernel>(PoolOp::average, true); }
std::unique_ptr<Kernel> make_global_max_pool() { return std::make_unique<PoolKernel>(PoolOp::max, true); }
std::unique_ptr<Kernel> make_global_lp_pool() { return std::make_unique<PoolKernel>(PoolOp::lp, true); }

}  // namespace ep::kernels::ref
