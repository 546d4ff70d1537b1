// ConvTranspose: a GEMM of the transposed weight with the input into scratch columns,
// then col2im scatters (adds) each column entry into the output.
#include <algorithm>
#include <array>

#include "kernels/ref/common.h"
#include "kernels/ref/gemm.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/spatial.h"

namespace ep::kernels::ref {
namespace {

using Dims3 = std::array<int64_t, kMaxSpatial>;

Dims3 to_dims3(const std::vector<int64_t>& v) { return {v[0], v[1], v[2]}; }

struct DeconvPlan {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  Dims3 in{}, out{}, kernel{}, stride{}, dilation{}, pad{};
  int64_t in_size = 0, out_size = 0, kernel_size = 0;
};

// Adds column row (m, kd, kh, kw), column (id, ih, iw) into y[m, od, oh, ow].
template <typename T>
void col2im(const DeconvPlan& p, const T* col, int64_t channels, T* y) {
  for (int64_t m = 0; m < channels; ++m)
    for (int64_t kd = 0; kd < p.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < p.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
          T* ym = y + m * p.out_size;
          for (int64_t id = 0; id < p.in[0]; ++id) {
            const int64_t od = id * p.stride[0] - p.pad[0] + kd * p.dilation[0];
            for (int64_t ih = 0; ih < p.in[1]; ++ih, col += p.in[2]) {
              const int64_t oh = ih * p.stride[1] - p.pad[1] + kh * p.dilation[1];
              if (od < 0 || od >= p.out[0] || oh < 0 || oh >= p.out[1]) continue;
              T* row = ym + (od * p.out[1] + oh) * p.out[2];
              for (int64_t iw = 0; iw < p.in[2]; ++iw) {
                const int64_t ow = iw * p.stride[2] - p.pad[2] + kw * p.dilation[2];
                if (ow >= 0 && ow < p.out[2]) row[ow] += col[iw];
              }
            }
          }
        }
}

template <typename T>
void deconv_run(const DeconvPlan& p, const T* x, const T* w, const T* bias, T* y, T* col) {
  const int64_t cg = p.in_channels / p.group, mg = p.out_channels / p.group;
  const int64_t rows = mg * p.kernel_size;  // weight is (C, M/group, k...): row c holds `rows` values
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t g = 0; g < p.group; ++g) {
      const T* xg = x + (n * p.in_channels + g * cg) * p.in_size;
      T* yg = y + (n * p.out_channels + g * mg) * p.out_size;
      for (int64_t m = 0; m < mg; ++m) {
        const T b = bias ? bias[g * mg + m] : T(0);
        for (int64_t j = 0; j < p.out_size; ++j) yg[m * p.out_size + j] = b;
      }
      std::fill(col, col + rows * p.in_size, T(0));
      gemm_accumulate<T>(rows, p.in_size, cg, w + g * cg * rows, 1, rows, xg, p.in_size, 1, col, p.in_size);
      col2im(p, col, mg, yg);
    }
}

class ConvTransposeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    const TensorInfo& x = ctx.input(0);
    const TensorInfo& w = ctx.input(1);
    if (x.dtype != DType::f32 && x.dtype != DType::f64) return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (w.dtype != x.dtype) return ctx.error("weight dtype ", dtype_name(w.dtype), " differs from input ", dtype_name(x.dtype));
    if (x.shape.rank() < 3) return ctx.error("input rank ", x.shape.rank(), ", expected at least 3");
    if (w.shape.rank() != x.shape.rank()) return ctx.error("weight rank ", w.shape.rank(), ", expected ", x.shape.rank());
    if (!x.shape.is_static() || !w.shape.is_static()) return ctx.unsupported_error("input or weight shape is not static");
    const size_t rank = x.shape.rank() - 2;
    EP_ASSIGN_OR_RETURN(p_.group, ctx.node().attr_int("group", 1));
    p_.batch = x.shape[0];
    p_.in_channels = x.shape[1];
    if (w.shape[0] != p_.in_channels)
      return ctx.error("weight shape ", w.shape.to_string(), " does not match ", p_.in_channels, " input channels");
    if (p_.group < 1 || p_.in_channels % p_.group != 0)
      return ctx.error("group ", p_.group, " does not divide input channels ", p_.in_channels);
    p_.out_channels = w.shape[1] * p_.group;
    if (ctx.has_input(2)) {
      const TensorInfo& b = ctx.input(2);
      if (b.dtype != x.dtype || b.shape.rank() != 1 || b.shape[0] != p_.out_channels)
        return ctx.error("bias must be a ", dtype_name(x.dtype), " vector of ", p_.out_channels, ", got ",
                         dtype_name(b.dtype), " ", b.shape.to_string());
    }
    const std::vector<int64_t> kernel(w.shape.dims().begin() + 2, w.shape.dims().end());
    if (ctx.node().has_attr("kernel_shape")) {
      EP_ASSIGN_OR_RETURN(std::vector<int64_t> ks, ctx.node().attr_ints("kernel_shape"));
      if (ks != kernel) return ctx.error("kernel_shape attribute differs from weight shape ", w.shape.to_string());
    }
    EP_ASSIGN_OR_RETURN(Window win, read_window(ctx, rank, kernel));
    const std::vector<int64_t> in_sp(x.shape.dims().begin() + 2, x.shape.dims().end());
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> out_sp, output_sizes(ctx, win, in_sp));
    std::vector<int64_t> out_dims = {p_.batch, p_.out_channels};
    out_dims.insert(out_dims.end(), out_sp.begin(), out_sp.end());
    EP_ASSIGN_OR_RETURN(int64_t out_numel, checked_numel(Shape(out_dims)));
    (void)out_numel;
    const Window w3 = win.padded_to_3d();
    p_.in = to_dims3(spatial_3d(in_sp, rank));
    p_.out = to_dims3(spatial_3d(out_sp, rank));
    p_.kernel = to_dims3(w3.kernel);
    p_.stride = to_dims3(w3.strides);
    p_.dilation = to_dims3(w3.dilations);
    p_.pad = to_dims3(w3.pad_begin);
    p_.in_size = p_.in[0] * p_.in[1] * p_.in[2];
    p_.out_size = p_.out[0] * p_.out[1] * p_.out[2];
    p_.kernel_size = p_.kernel[0] * p_.kernel[1] * p_.kernel[2];
    EP_ASSIGN_OR_RETURN(int64_t bytes, checked_numel(Shape{w.shape[1], p_.kernel_size, p_.in_size,
                                                           static_cast<int64_t>(dtype_size(x.dtype))}));
    ctx.request_scratch(static_cast<size_t>(bytes));
    ctx.set_output(0, x.dtype, Shape(out_dims));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const void* bias = ctx.inputs.size() > 2 ? ctx.inputs[2].data : nullptr;
    dispatch<float, double>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      deconv_run<T>(p_, x.as<T>(), ctx.inputs[1].as<T>(), static_cast<const T*>(bias), ctx.outputs[0].as<T>(),
                    static_cast<T*>(ctx.scratch));
    });
    return Status::ok();
  }

 private:
  // Output sizes and begin pads. With output_shape or SAME_* the pads follow from the
  // total padding; SAME_UPPER puts the smaller half first (as the ONNX tests expect).
  Result<std::vector<int64_t>> output_sizes(const PrepareContext& ctx, Window& w, const std::vector<int64_t>& in) {
    const size_t rank = w.rank;
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> out_pad,
                        ctx.node().attr_ints("output_padding", std::vector<int64_t>(rank, 0)));
    if (out_pad.size() != rank) return ctx.error("output_padding has ", out_pad.size(), " values, expected ", rank);
    std::vector<int64_t> target;
    if (ctx.node().has_attr("output_shape")) {
      EP_ASSIGN_OR_RETURN(target, ctx.node().attr_ints("output_shape"));
      if (target.size() == rank + 2) target.erase(target.begin(), target.begin() + 2);
      if (target.size() != rank) return ctx.error("output_shape has ", target.size(), " values, expected ", rank);
    } else if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
      for (size_t i = 0; i < rank; ++i) target.push_back(in[i] * w.strides[i]);
    }
    std::vector<int64_t> out(rank);
    for (size_t i = 0; i < rank; ++i) {
      if (in[i] < 1 || in[i] > (int64_t{1} << 40)) return ctx.error("spatial dim ", i, " size ", in[i], " is out of range");
      if (out_pad[i] < 0 || (out_pad[i] >= w.strides[i] && out_pad[i] >= w.dilations[i]))
        return ctx.error("output_padding ", out_pad[i], " must be below the stride or dilation");
      const int64_t full = w.strides[i] * (in[i] - 1) + out_pad[i] + w.extent(i);
      if (!target.empty()) {
        if (target[i] < 1 || target[i] > (int64_t{1} << 40)) return ctx.error("output_shape value ", target[i], " is out of range");
        // A negative total (output larger than the full result) leaves the tail at the bias.
        const int64_t total = std::max<int64_t>(0, full - target[i]);
        w.pad_begin[i] = w.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        w.pad_end[i] = total - w.pad_begin[i];
        out[i] = target[i];
        continue;
      }
      if (w.auto_pad == "VALID") w.pad_begin[i] = w.pad_end[i] = 0;
      out[i] = full - w.pad_begin[i] - w.pad_end[i];
      if (out[i] < 1) return ctx.error("output spatial dim ", i, " would be ", out[i]);
    }
    return out;
  }

  DeconvPlan p_;
};

}  // namespace

std::unique_ptr<Kernel> make_conv_transpose() { return std::make_unique<ConvTransposeKernel>(); }

}  // namespace ep::kernels::ref
