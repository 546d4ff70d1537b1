// Conv: im2col into scratch memory, then one GEMM per (image, group).
#include <array>

#include "kernels/ref/common.h"
#include "kernels/ref/gemm.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/ref/spatial.h"

namespace ep::kernels::ref {
namespace {

using Dims3 = std::array<int64_t, kMaxSpatial>;

Dims3 to_dims3(const std::vector<int64_t>& v) { return {v[0], v[1], v[2]}; }

// Everything run() needs, fixed by prepare().
struct ConvPlan {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  Dims3 in{}, out{}, kernel{}, stride{}, dilation{}, pad{};
  int64_t in_size = 0, out_size = 0, kernel_size = 0;  // products of the 3-D dims
  bool direct = false;  // 1x1, stride 1, no pad: the input already is the column matrix
};

// Column matrix of one group: row (c, kd, kh, kw), column (od, oh, ow); zeros where the
// window reads padding.
template <typename T>
void im2col(const ConvPlan& p, const T* x, int64_t channels, T* col) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t kd = 0; kd < p.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < p.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
          const T* xc = x + c * p.in_size;
          for (int64_t od = 0; od < p.out[0]; ++od) {
            const int64_t id = od * p.stride[0] - p.pad[0] + kd * p.dilation[0];
            for (int64_t oh = 0; oh < p.out[1]; ++oh, col += p.out[2]) {
              const int64_t ih = oh * p.stride[1] - p.pad[1] + kh * p.dilation[1];
              if (id < 0 || id >= p.in[0] || ih < 0 || ih >= p.in[1]) {
                for (int64_t ow = 0; ow < p.out[2]; ++ow) col[ow] = T(0);
                continue;
              }
              const T* row = xc + (id * p.in[1] + ih) * p.in[2];
              for (int64_t ow = 0; ow < p.out[2]; ++ow) {
                const int64_t iw = ow * p.stride[2] - p.pad[2] + kw * p.dilation[2];
                col[ow] = (iw >= 0 && iw < p.in[2]) ? row[iw] : T(0);
              }
            }
          }
        }
}

template <typename T>
void conv_run(const ConvPlan& p, const T* x, const T* w, const T* bias, T* y, T* scratch) {
  const int64_t cg = p.in_channels / p.group, mg = p.out_channels / p.group;
  const int64_t ck = cg * p.kernel_size;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t g = 0; g < p.group; ++g) {
      const T* xg = x + (n * p.in_channels + g * cg) * p.in_size;
      T* yg = y + (n * p.out_channels + g * mg) * p.out_size;
      const T* col = xg;
      if (!p.direct) {
        im2col(p, xg, cg, scratch);
        col = scratch;
      }
      for (int64_t m = 0; m < mg; ++m) {
        const T b = bias ? bias[g * mg + m] : T(0);
        for (int64_t j = 0; j < p.out_size; ++j) yg[m * p.out_size + j] = b;
      }
      gemm_accumulate<T>(mg, p.out_size, ck, w + g * mg * ck, ck, 1, col, p.out_size, 1, yg, p.out_size);
    }
}

class ConvKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
    const TensorInfo& x = ctx.input(0);
    const TensorInfo& w = ctx.input(1);
    if (x.dtype != DType::f32 && x.dtype != DType::f64) return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (w.dtype != x.dtype) return ctx.error("weight dtype ", dtype_name(w.dtype), " differs from input ", dtype_name(x.dtype));
    if (x.shape.rank() < 3) return ctx.error("input rank ", x.shape.rank(), ", expected at least 3");
    if (w.shape.rank() != x.shape.rank())
      return ctx.error("weight rank ", w.shape.rank(), ", expected ", x.shape.rank());
    if (!x.shape.is_static() || !w.shape.is_static()) return ctx.unsupported_error("input or weight shape is not static");
    const size_t rank = x.shape.rank() - 2;
    EP_ASSIGN_OR_RETURN(p_.group, ctx.node().attr_int("group", 1));
    p_.batch = x.shape[0];
    p_.in_channels = x.shape[1];
    p_.out_channels = w.shape[0];
    if (p_.group < 1 || p_.in_channels % p_.group != 0 || p_.out_channels % p_.group != 0)
      return ctx.error("group ", p_.group, " does not divide input channels ", p_.in_channels, " and output channels ",
                       p_.out_channels);
    if (w.shape[1] != p_.in_channels / p_.group)
      return ctx.error("weight shape ", w.shape.to_string(), " expects ", w.shape[1] * p_.group,
                       " input channels, input has ", p_.in_channels);
    const std::vector<int64_t> kernel(w.shape.dims().begin() + 2, w.shape.dims().end());
    if (ctx.node().has_attr("kernel_shape")) {
      EP_ASSIGN_OR_RETURN(std::vector<int64_t> ks, ctx.node().attr_ints("kernel_shape"));
      if (ks != kernel) return ctx.error("kernel_shape attribute differs from weight shape ", w.shape.to_string());
    }
    if (ctx.has_input(2)) {
      const TensorInfo& b = ctx.input(2);
      if (b.dtype != x.dtype || b.shape.rank() != 1 || b.shape[0] != p_.out_channels)
        return ctx.error("bias must be a ", dtype_name(x.dtype), " vector of ", p_.out_channels, ", got ",
                         dtype_name(b.dtype), " ", b.shape.to_string());
    }
    EP_ASSIGN_OR_RETURN(Window win, read_window(ctx, rank, kernel));
    const std::vector<int64_t> in_sp(x.shape.dims().begin() + 2, x.shape.dims().end());
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> out_sp, forward_output_sizes(ctx, win, in_sp));
    std::vector<int64_t> out_dims = {p_.batch, p_.out_channels};
    out_dims.insert(out_dims.end(), out_sp.begin(), out_sp.end());
    EP_ASSIGN_OR_RETURN(int64_t out_numel, checked_numel(Shape(out_dims)));
    (void)out_numel;
    EP_RETURN_IF_ERROR(plan(ctx, win, in_sp, out_sp, dtype_size(x.dtype)));
    ctx.set_output(0, x.dtype, Shape(out_dims));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& w = ctx.inputs[1];
    const void* bias = ctx.inputs.size() > 2 ? ctx.inputs[2].data : nullptr;
    dispatch<float, double>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      conv_run<T>(p_, x.as<T>(), w.as<T>(), static_cast<const T*>(bias), ctx.outputs[0].as<T>(),
                  static_cast<T*>(ctx.scratch));
    });
    return Status::ok();
  }

 private:
  Status plan(PrepareContext& ctx, const Window& win, const std::vector<int64_t>& in_sp,
              const std::vector<int64_t>& out_sp, size_t elem) {
    const Window w3 = win.padded_to_3d();
    p_.in = to_dims3(spatial_3d(in_sp, in_sp.size()));
    p_.out = to_dims3(spatial_3d(out_sp, out_sp.size()));
    p_.kernel = to_dims3(w3.kernel);
    p_.stride = to_dims3(w3.strides);
    p_.dilation = to_dims3(w3.dilations);
    p_.pad = to_dims3(w3.pad_begin);
    p_.in_size = p_.in[0] * p_.in[1] * p_.in[2];
    p_.out_size = p_.out[0] * p_.out[1] * p_.out[2];
    p_.kernel_size = p_.kernel[0] * p_.kernel[1] * p_.kernel[2];
    p_.direct = p_.kernel_size == 1 && p_.in == p_.out;
    for (size_t i = 0; i < kMaxSpatial; ++i)
      p_.direct = p_.direct && p_.stride[i] == 1 && p_.pad[i] == 0;
    if (p_.direct) return Status::ok();
    // Column matrix of one group: (C/group * kernel) x output positions.
    EP_ASSIGN_OR_RETURN(int64_t cols, checked_numel(Shape{p_.in_channels / p_.group, p_.kernel_size, p_.out_size,
                                                          static_cast<int64_t>(elem)}));
    ctx.request_scratch(static_cast<size_t>(cols));
    return Status::ok();
  }

  ConvPlan p_;
};

}  // namespace

std::unique_ptr<Kernel> make_conv() { return std::make_unique<ConvKernel>(); }

}  // namespace ep::kernels::ref
