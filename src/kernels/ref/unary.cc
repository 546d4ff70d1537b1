// Element-wise unary ops (activations and math functions), computed in double for the oracle.
#include <cmath>
#include <limits>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

enum class UnOp {
  relu, sigmoid, tanh, exp, log, sqrt, abs, neg, reciprocal, floor, ceil, round, sin, cos, tan, asin, acos, atan,
  sinh, cosh, asinh, acosh, atanh, erf, sign, leaky_relu, elu, selu, celu, hard_sigmoid, hard_swish, softplus,
  softsign, thresholded_relu, gelu, mish, clip
};

struct Params {
  double alpha = 0, beta = 0, gamma = 0;
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  bool gelu_tanh = false;
};

double round_half_even(double x) { return std::nearbyint(x); }

double apply(UnOp op, double x, const Params& p) {
  switch (op) {
    case UnOp::relu: return x > 0 ? x : 0;
    case UnOp::sigmoid: return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
    case UnOp::tanh: return std::tanh(x);
    case UnOp::exp: return std::exp(x);
    case UnOp::log: return std::log(x);
    case UnOp::sqrt: return std::sqrt(x);
    case UnOp::abs: return std::fabs(x);
    case UnOp::neg: return -x;
    case UnOp::reciprocal: return 1 / x;
    case UnOp::floor: return std::floor(x);
    case UnOp::ceil: return std::ceil(x);
    case UnOp::round: return round_half_even(x);
    case UnOp::sin: return std::sin(x);
    case UnOp::cos: return std::cos(x);
    case UnOp::tan: return std::tan(x);
    case UnOp::asin: return std::asin(x);
    case UnOp::acos: return std::acos(x);
    case UnOp::atan: return std::atan(x);
    case UnOp::sinh: return std::sinh(x);
    case UnOp::cosh: return std::cosh(x);
    case UnOp::asinh: return std::asinh(x);
    case UnOp::acosh: return std::acosh(x);
    case UnOp::atanh: return std::atanh(x);
    case UnOp::erf: return std::erf(x);
    case UnOp::sign: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case UnOp::leaky_relu: return x >= 0 ? x : p.alpha * x;
    case UnOp::elu: return x >= 0 ? x : p.alpha * (std::exp(x) - 1);
    case UnOp::selu: return p.gamma * (x > 0 ? x : p.alpha * (std::exp(x) - 1));
    case UnOp::celu: return std::max(0.0, x) + std::min(0.0, p.alpha * (std::exp(x / p.alpha) - 1));
    case UnOp::hard_sigmoid: return std::max(0.0, std::min(1.0, p.alpha * x + p.beta));
    case UnOp::hard_swish: return x * std::max(0.0, std::min(1.0, x / 6 + 0.5));
    case UnOp::softplus: return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    case UnOp::softsign: return x / (1 + std::fabs(x));
    case UnOp::thresholded_relu: return x > p.alpha ? x : 0;
    case UnOp::gelu:
      if (p.gelu_tanh) return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case UnOp::mish: return x * std::tanh(x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)));
    case UnOp::clip: return x < p.lo ? p.lo : (x > p.hi ? p.hi : x);
  }
  return x;
}

bool allows_integers(UnOp op) {
  return op == UnOp::relu || op == UnOp::abs || op == UnOp::neg || op == UnOp::sign || op == UnOp::clip;
}

class UnaryKernel final : public Kernel {
 public:
  explicit UnaryKernel(UnOp op) : op_(op) {}

  Status prepare(PrepareContext& ctx) override {
    const ir::Node& n = ctx.node();
    EP_RETURN_IF_ERROR(ctx.expect_inputs(1, op_ == UnOp::clip ? 3 : 1));
    const TensorInfo& x = ctx.input(0);
    const bool is_int = dtype_is_integer(x.dtype);
    if (!(x.dtype == DType::f32 || x.dtype == DType::f64 || (is_int && allows_integers(op_))))
      return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    switch (op_) {
      case UnOp::leaky_relu: { EP_ASSIGN_OR_RETURN(p_.alpha, n.attr_float("alpha", 0.01f)); break; }
      case UnOp::elu: { EP_ASSIGN_OR_RETURN(p_.alpha, n.attr_float("alpha", 1.0f)); break; }
      case UnOp::celu: { EP_ASSIGN_OR_RETURN(p_.alpha, n.attr_float("alpha", 1.0f)); break; }
      case UnOp::thresholded_relu: { EP_ASSIGN_OR_RETURN(p_.alpha, n.attr_float("alpha", 1.0f)); break; }
      case UnOp::selu: {
        EP_ASSIGN_OR_RETURN(p_.alpha, n.attr_float("alpha", 1.67326319217681884765625f));
        EP_ASSIGN_OR_RETURN(p_.gamma, n.attr_float("gamma", 1.05070102214813232421875f));
        break;
      }
      case UnOp::hard_sigmoid: {
        EP_ASSIGN_OR_RETURN(p_.alpha, n.attr_float("alpha", 0.2f));
        EP_ASSIGN_OR_RETURN(p_.beta, n.attr_float("beta", 0.5f));
        break;
      }
      case UnOp::gelu: {
        EP_ASSIGN_OR_RETURN(std::string approx, n.attr_string("approximate", std::string("none")));
        if (approx != "none" && approx != "tanh") return ctx.error("approximate '", approx, "' is not none or tanh");
        p_.gelu_tanh = approx == "tanh";
        break;
      }
      case UnOp::clip: EP_RETURN_IF_ERROR(prepare_clip(ctx)); break;
      default: break;
    }
    ctx.set_output(0, x.dtype, x.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    Params p = p_;
    if (op_ == UnOp::clip) {  // bounds given as inputs may change per run
      if (ctx.inputs.size() > 1 && ctx.inputs[1].data) p.lo = view_get_f64(ctx.inputs[1], 0);
      if (ctx.inputs.size() > 2 && ctx.inputs[2].data) p.hi = view_get_f64(ctx.inputs[2], 0);
    }
    const int64_t n = x.numel();
    dispatch<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>(
        x.dtype, [&](auto tag) {
          using T = decltype(tag);
          const T* px = x.as<T>();
          T* py = y.as<T>();
          if constexpr (std::is_integral_v<T>) {
            if (op_ == UnOp::clip) {  // exact integer clipping
              for (int64_t i = 0; i < n; ++i) {
                T v = px[i];
                if (static_cast<double>(v) < p.lo) v = static_cast<T>(p.lo);
                if (static_cast<double>(v) > p.hi) v = static_cast<T>(p.hi);
                py[i] = v;
              }
              return;
            }
          }
          for (int64_t i = 0; i < n; ++i) py[i] = static_cast<T>(apply(op_, static_cast<double>(px[i]), p));
        });
    return Status::ok();
  }

 private:
  Status prepare_clip(PrepareContext& ctx) {
    const ir::Node& n = ctx.node();
    if (ctx.opset() < 11) {  // bounds were attributes before opset 11
      EP_ASSIGN_OR_RETURN(float lo, n.attr_float("min", std::numeric_limits<float>::lowest()));
      EP_ASSIGN_OR_RETURN(float hi, n.attr_float("max", std::numeric_limits<float>::max()));
      p_.lo = lo;
      p_.hi = hi;
      return Status::ok();
    }
    for (size_t i = 1; i < ctx.num_inputs(); ++i) {
      if (!ctx.has_input(i)) continue;
      const TensorInfo& b = ctx.input(i);
      if (b.dtype != ctx.input(0).dtype) return ctx.error("bound ", i, " has dtype ", dtype_name(b.dtype));
      if (b.shape.numel() != 1) return ctx.error("bound ", i, " is not a scalar (shape ", b.shape.to_string(), ")");
    }
    return Status::ok();
  }

  UnOp op_;
  Params p_;
};

template <UnOp Op>
std::unique_ptr<Kernel> make() {
  return std::make_unique<UnaryKernel>(Op);
}

}  // namespace

std::unique_ptr<Kernel> make_relu() { return make<UnOp::relu>(); }
std::unique_ptr<Kernel> make_sigmoid() { return make<UnOp::sigmoid>(); }
std::unique_ptr<Kernel> make_tanh() { return make<UnOp::tanh>(); }
std::unique_ptr<Kernel> make_exp() { return make<UnOp::exp>(); }
std::unique_ptr<Kernel> make_log() { return make<UnOp::log>(); }
std::unique_ptr<Kernel> make_sqrt() { return make<UnOp::sqrt>(); }
std::unique_ptr<Kernel> make_abs() { return make<UnOp::abs>(); }
std::unique_ptr<Kernel> make_neg() { return make<UnOp::neg>(); }
std::unique_ptr<Kernel> make_reciprocal() { return make<UnOp::reciprocal>(); }
std::unique_ptr<Kernel> make_floor() { return make<UnOp::floor>(); }
std::unique_ptr<Kernel> make_ceil() { return make<UnOp::ceil>(); }
std::unique_ptr<Kernel> make_round() { return make<UnOp::round>(); }
std::unique_ptr<Kernel> make_sin() { return make<UnOp::sin>(); }
std::unique_ptr<Kernel> make_cos() { return make<UnOp::cos>(); }
std::unique_ptr<Kernel> make_tan() { return make<UnOp::tan>(); }
std::unique_ptr<Kernel> make_asin() { return make<UnOp::asin>(); }
std::unique_ptr<Kernel> make_acos() { return make<UnOp::acos>(); }
std::unique_ptr<Kernel> make_atan() { return make<UnOp::atan>(); }
std::unique_ptr<Kernel> make_sinh() { return make<UnOp::sinh>(); }
std::unique_ptr<Kernel> make_cosh() { return make<UnOp::cosh>(); }
std::unique_ptr<Kernel> make_asinh() { return make<UnOp::asinh>(); }
std::unique_ptr<Kernel> make_acosh() { return make<UnOp::acosh>(); }
std::unique_ptr<Kernel> make_atanh() { return make<UnOp::atanh>(); }
std::unique_ptr<Kernel> make_erf() { return make<UnOp::erf>(); }
std::unique_ptr<Kernel> make_sign() { return make<UnOp::sign>(); }
std::unique_ptr<Kernel> make_leaky_relu() { return make<UnOp::leaky_relu>(); }
std::unique_ptr<Kernel> make_elu() { return make<UnOp::elu>(); }
std::unique_ptr<Kernel> make_selu() { return make<UnOp::selu>(); }
std::unique_ptr<Kernel> make_celu() { return make<UnOp::celu>(); }
std::unique_ptr<Kernel> make_hard_sigmoid() { return make<UnOp::hard_sigmoid>(); }
std::unique_ptr<Kernel> make_hard_swish() { return make<UnOp::hard_swish>(); }
std::unique_ptr<Kernel> make_softplus() { return make<UnOp::softplus>(); }
std::unique_ptr<Kernel> make_softsign() { return make<UnOp::softsign>(); }
std::unique_ptr<Kernel> make_thresholded_relu() { return make<UnOp::thresholded_relu>(); }
std::unique_ptr<Kernel> make_gelu() { return make<UnOp::gelu>(); }
std::unique_ptr<Kernel> make_mish() { return make<UnOp::mish>(); }
std::unique_ptr<Kernel> make_clip() { return make<UnOp::clip>(); }

}  // namespace ep::kernels::ref
