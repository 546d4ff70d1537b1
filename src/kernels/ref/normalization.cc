// BatchNormalization (inference), InstanceNormalization, LayerNormalization and LRN.
// Statistics are accumulated in double.
#include <cmath>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

bool float_dtype(DType t) { return t == DType::f32 || t == DType::f64; }

// y = (x - mean) / sqrt(var + eps) * scale + bias per channel. X is seen as
// (N, channels, inner): channels = C for spatial mode, all of X.shape[1:] otherwise (opset < 9, spatial=0).
class BatchNormKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(5, 5));
    const TensorInfo& x = ctx.input(0);
    if (!float_dtype(x.dtype)) return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (x.shape.rank() < 2) return ctx.error("input rank ", x.shape.rank(), ", expected at least 2");
    EP_ASSIGN_OR_RETURN(int64_t training, n.attr_int("training_mode", 0));
    if (training != 0) return ctx.unsupported_error("training_mode=1 (only inference is implemented)");
    for (size_t i = 1; i < ctx.num_outputs(); ++i)
      if (ctx.output_requested(i)) return ctx.unsupported_error("training outputs (output ", i, ") are not implemented");
    EP_ASSIGN_OR_RETURN(int64_t spatial, n.attr_int("spatial", 1));
    if (ctx.opset() >= 9) spatial = 1;
    batch_ = x.shape[0];
    channels_ = x.shape[1];
    inner_ = 1;
    for (size_t d = 2; d < x.shape.rank(); ++d) (spatial ? inner_ : channels_) *= x.shape[d];
    for (size_t i = 1; i < 5; ++i) {
      const TensorInfo& p = ctx.input(i);
      if (!float_dtype(p.dtype)) return ctx.unsupported_error("input ", i, " dtype ", dtype_name(p.dtype));
      if (p.shape.numel() != channels_)
        return ctx.error("input ", i, " shape ", p.shape.to_string(), " does not hold ", channels_, " values");
    }
    EP_ASSIGN_OR_RETURN(float eps, n.attr_float("epsilon", 1e-5f));
    epsilon_ = eps;
    ctx.set_output(0, x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const auto& in = ctx.inputs;
    dispatch<float, double>(in[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* x = in[0].as<T>();
      T* y = ctx.outputs[0].as<T>();
      for (int64_t c = 0; c < channels_; ++c) {
        const double a = view_get_f64(in[1], c) / std::sqrt(view_get_f64(in[4], c) + epsilon_);
        const double b = view_get_f64(in[2], c) - view_get_f64(in[3], c) * a;
        for (int64_t nb = 0; nb < batch_; ++nb) {
          const int64_t base = (nb * channels_ + c) * inner_;
          for (int64_t i = 0; i < inner_; ++i) y[base + i] = static_cast<T>(static_cast<double>(x[base + i]) * a + b);
        }
      }
    });
    return Status::ok();
  }

 private:
  int64_t batch_ = 0, channels_ = 0, inner_ = 0;
  double epsilon_ = 1e-5;
};

// Mean and population variance of n values `stride` apart.
template <typename T>
void moments(const T* x, int64_t n, double& mean, double& var) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]);
  mean = n ? s / static_cast<double>(n) : 0.0;
  double q = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    q += d * d;
  }
  var = n ? q / static_cast<double>(n) : 0.0;
}

class InstanceNormKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
    const TensorInfo& x = ctx.input(0);
    if (!float_dtype(x.dtype)) return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (x.shape.rank() < 3) return ctx.error("input rank ", x.shape.rank(), ", expected at least 3");
    batch_ = x.shape[0];
    channels_ = x.shape[1];
    inner_ = 1;
    for (size_t d = 2; d < x.shape.rank(); ++d) inner_ *= x.shape[d];
    for (size_t i = 1; i < 3; ++i) {
      const TensorInfo& p = ctx.input(i);
      if (p.dtype != x.dtype || p.shape.rank() != 1 || p.shape[0] != channels_)
        return ctx.error("input ", i, " must be a ", dtype_name(x.dtype), " vector of ", channels_, ", got ",
                         dtype_name(p.dtype), " ", p.shape.to_string());
    }
    EP_ASSIGN_OR_RETURN(float eps, ctx.node().attr_float("epsilon", 1e-5f));
    epsilon_ = eps;
    ctx.set_output(0, x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    dispatch<float, double>(ctx.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.inputs[0].as<T>();
      const T* scale = ctx.inputs[1].as<T>();
      const T* bias = ctx.inputs[2].as<T>();
      T* y = ctx.outputs[0].as<T>();
      for (int64_t nb = 0; nb < batch_; ++nb)
        for (int64_t c = 0; c < channels_; ++c) {
          const int64_t base = (nb * channels_ + c) * inner_;
          double mean, var;
          moments(x + base, inner_, mean, var);
          const double a = static_cast<double>(scale[c]) / std::sqrt(var + epsilon_);
          for (int64_t i = 0; i < inner_; ++i)
            y[base + i] = static_cast<T>((static_cast<double>(x[base + i]) - mean) * a + static_cast<double>(bias[c]));
        }
    });
    return Status::ok();
  }

 private:
  int64_t batch_ = 0, channels_ = 0, inner_ = 0;
  double epsilon_ = 1e-5;
};

// Normalizes over dims [axis, rank); Scale and B broadcast to those dims.
class LayerNormKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    const TensorInfo& x = ctx.input(0);
    if (!float_dtype(x.dtype)) return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    EP_ASSIGN_OR_RETURN(int64_t axis_attr, n.attr_int("axis", -1));
    EP_ASSIGN_OR_RETURN(int64_t axis, ctx.normalize_axis(axis_attr, rank));
    EP_ASSIGN_OR_RETURN(float eps, n.attr_float("epsilon", 1e-5f));
    EP_ASSIGN_OR_RETURN(int64_t stash, n.attr_int("stash_type", 1));
    epsilon_ = eps;
    const std::vector<int64_t> norm_dims(x.shape.dims().begin() + axis, x.shape.dims().end());
    const Shape norm(norm_dims);
    outer_ = 1;
    for (int64_t d = 0; d < axis; ++d) outer_ *= x.shape[static_cast<size_t>(d)];
    inner_ = norm.numel();
    for (size_t i = 1; i < 3; ++i) {
      if (!ctx.has_input(i)) continue;
      const TensorInfo& p = ctx.input(i);
      if (p.dtype != x.dtype) return ctx.error("input ", i, " dtype ", dtype_name(p.dtype), " differs from X");
      EP_ASSIGN_OR_RETURN(Shape b, broadcast_shapes(ctx, {norm, p.shape}));
      if (b != norm) return ctx.error("input ", i, " shape ", p.shape.to_string(), " does not broadcast to ", norm.to_string());
      // Offsets of the parameter for each normalized element; computed once here.
      std::vector<int64_t>& offs = i == 1 ? scale_at_ : bias_at_;
      offs.resize(static_cast<size_t>(inner_));
      const std::vector<int64_t> st[2] = {strides_of(norm), broadcast_strides(p.shape, norm)};
      for_each_index(norm, st, [&](int64_t, const int64_t* o) { offs[static_cast<size_t>(o[0])] = o[1]; });
    }
    ctx.set_output(0, x.dtype, x.shape);
    std::vector<int64_t> stat_dims(x.shape.dims().begin(), x.shape.dims().begin() + axis);
    stat_dims.resize(static_cast<size_t>(rank), 1);
    const DType stat_type = stash == 1 ? DType::f32 : x.dtype;
    for (size_t i = 1; i < 3; ++i)
      if (ctx.output_requested(i)) ctx.set_output(i, stat_type, Shape(stat_dims));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView* mean_out = ctx.outputs.size() > 1 && ctx.outputs[1].data ? &ctx.outputs[1] : nullptr;
    const TensorView* inv_out = ctx.outputs.size() > 2 && ctx.outputs[2].data ? &ctx.outputs[2] : nullptr;
    dispatch<float, double>(ctx.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.inputs[0].as<T>();
      const T* scale = ctx.inputs[1].as<T>();
      const T* bias = ctx.inputs.size() > 2 && ctx.inputs[2].data ? ctx.inputs[2].as<T>() : nullptr;
      T* y = ctx.outputs[0].as<T>();
      for (int64_t o = 0; o < outer_; ++o) {
        const int64_t base = o * inner_;
        double mean, var;
        moments(x + base, inner_, mean, var);
        const double inv = 1.0 / std::sqrt(var + epsilon_);
        for (int64_t i = 0; i < inner_; ++i) {
          double v = (static_cast<double>(x[base + i]) - mean) * inv * static_cast<double>(scale[scale_at_[i]]);
          if (bias) v += static_cast<double>(bias[bias_at_[i]]);
          y[base + i] = static_cast<T>(v);
        }
        if (mean_out) store(*mean_out, o, mean);
        if (inv_out) store(*inv_out, o, inv);
      }
    });
    return Status::ok();
  }

 private:
  static void store(const TensorView& v, int64_t i, double value) {
    if (v.dtype == DType::f32) v.as<float>()[i] = static_cast<float>(value);
    else v.as<double>()[i] = value;
  }

  int64_t outer_ = 1, inner_ = 1;
  double epsilon_ = 1e-5;
  std::vector<int64_t> scale_at_, bias_at_;
};

// LRN across channels: y = x / (bias + alpha / size * sum of squares of nearby channels)^beta.
class LrnKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    const TensorInfo& x = ctx.input(0);
    if (!float_dtype(x.dtype)) return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (x.shape.rank() < 3) return ctx.error("input rank ", x.shape.rank(), ", expected at least 3");
    EP_ASSIGN_OR_RETURN(size_, n.attr_int("size"));
    if (size_ < 1) return ctx.error("size ", size_, " must be positive");
    EP_ASSIGN_OR_RETURN(float alpha, n.attr_float("alpha", 1e-4f));
    EP_ASSIGN_OR_RETURN(float beta, n.attr_float("beta", 0.75f));
    EP_ASSIGN_OR_RETURN(float bias, n.attr_float("bias", 1.0f));
    alpha_ = alpha;
    beta_ = beta;
    bias_ = bias;
    batch_ = x.shape[0];
    channels_ = x.shape[1];
    inner_ = 1;
    for (size_t d = 2; d < x.shape.rank(); ++d) inner_ *= x.shape[d];
    ctx.set_output(0, x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;  // floor and ceil of (size-1)/2
    dispatch<float, double>(ctx.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.inputs[0].as<T>();
      T* y = ctx.outputs[0].as<T>();
      for (int64_t nb = 0; nb < batch_; ++nb)
        for (int64_t c = 0; c < channels_; ++c)
          for (int64_t i = 0; i < inner_; ++i) {
            double sq = 0;
            for (int64_t k = std::max<int64_t>(0, c - before); k <= std::min(channels_ - 1, c + after); ++k) {
              const double v = static_cast<double>(x[(nb * channels_ + k) * inner_ + i]);
              sq += v * v;
            }
            const int64_t at = (nb * channels_ + c) * inner_ + i;
            y[at] = static_cast<T>(static_cast<double>(x[at]) /
                                   std::pow(bias_ + alpha_ / static_cast<double>(size_) * sq, beta_));
          }
    });
    return Status::ok();
  }

 private:
  int64_t size_ = 1, batch_ = 0, channels_ = 0, inner_ = 0;
  double alpha_ = 1e-4, beta_ = 0.75, bias_ = 1;
};

}  // namespace

std::unique_ptr<Kernel> make_batch_normalization() { return std::make_unique<BatchNormKernel>(); }
std::unique_ptr<Kernel> make_instance_normalization() { return std::make_unique<InstanceNormKernel>(); }
std::unique_ptr<Kernel> make_layer_normalization() { return std::make_unique<LayerNormKernel>(); }
std::unique_ptr<Kernel> make_lrn() { return std::make_unique<LrnKernel>(); }

}  // namespace ep::kernels::ref
