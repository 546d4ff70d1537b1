// Resize (opsets 10..) and Upsample (7..9): nearest, N-linear and cubic interpolation.
// prepare() turns the attributes and the constant scales/sizes into one table per axis:
// for each output index, the input taps (offset, weight) to blend. run() multiplies them out.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

constexpr size_t kMaxRank = 8;

enum class Mode { nearest, linear, cubic };
enum class Coord { half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric,
                   tf_half_pixel_for_nn, tf_crop_and_resize };
// `simple` is the rounding of Upsample and Resize-10, which had no nearest_mode attribute:
// floor when enlarging, ceil when shrinking (what ONNX Runtime does for those versions).
enum class Nearest { round_prefer_floor, round_prefer_ceil, floor, ceil, simple };

struct Params {
  Mode mode = Mode::nearest;
  Coord coord = Coord::half_pixel;
  Nearest nearest = Nearest::round_prefer_floor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
};

// Per axis: taps of output index i are [first[i], first[i+1]); outside[i] marks a
// tf_crop_and_resize coordinate outside the input (the output takes extrapolation_value).
struct AxisTable {
  std::vector<int64_t> first;
  std::vector<int64_t> offset;  // input index times the axis stride
  std::vector<double> weight;
  std::vector<char> outside;
};

struct AxisGeometry {
  int64_t len_in = 1, len_out = 1, stride = 1;
  double scale = 1, roi_start = 0, roi_end = 1;
};

// align_corners and tf_crop_and_resize use the unrounded resized length, in * scale, as the
// ONNX reference does (it differs from the output length when a scale does not divide evenly).
double original_coord(Coord c, double x, const AxisGeometry& g) {
  const double lin = static_cast<double>(g.len_in), lout = static_cast<double>(g.len_out);
  const double lres = lin * g.scale;
  switch (c) {
    case Coord::half_pixel: return (x + 0.5) / g.scale - 0.5;
    case Coord::half_pixel_symmetric: {
      const double adjustment = lout / (g.scale * lin);
      const double offset = lin / 2 * (1 - adjustment);
      return offset + (x + 0.5) / g.scale - 0.5;
    }
    case Coord::pytorch_half_pixel: return g.len_out > 1 ? (x + 0.5) / g.scale - 0.5 : 0.0;
    case Coord::align_corners: return lres == 1 ? 0.0 : x * (lin - 1) / (lres - 1);
    case Coord::asymmetric: return x / g.scale;
    case Coord::tf_half_pixel_for_nn: return (x + 0.5) / g.scale;
    case Coord::tf_crop_and_resize:
      if (lres != 1) return g.roi_start * (lin - 1) + x * (g.roi_end - g.roi_start) * (lin - 1) / (lres - 1);
      return 0.5 * (g.roi_start + g.roi_end) * (lin - 1);
  }
  return x;
}

int64_t nearest_index(Nearest n, double x, double scale) {
  switch (n) {
    case Nearest::round_prefer_floor: return static_cast<int64_t>(x - std::floor(x) == 0.5 ? std::floor(x) : std::round(x));
    case Nearest::round_prefer_ceil: return static_cast<int64_t>(x - std::floor(x) == 0.5 ? std::ceil(x) : std::round(x));
    case Nearest::floor: return static_cast<int64_t>(std::floor(x));
    case Nearest::ceil: return static_cast<int64_t>(std::ceil(x));
    case Nearest::simple: return static_cast<int64_t>(scale < 1 ? std::ceil(x) : std::floor(x));
  }
  return 0;
}

// Keys cubic convolution weights of the taps at floor(x)-1 .. floor(x)+2, t = x - floor(x).
std::array<double, 4> cubic_coeffs(double t, double a) {
  auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };             // |d| <= 1
  auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };        // 1 < |d| < 2
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

void add_tap(AxisTable& t, int64_t index, double w, const AxisGeometry& g) {
  if (w == 0) return;
  t.offset.push_back(std::clamp<int64_t>(index, 0, g.len_in - 1) * g.stride);
  t.weight.push_back(w);
}

void add_taps(AxisTable& t, const Params& p, double x, const AxisGeometry& g) {
  const double last = static_cast<double>(g.len_in - 1);
  if (p.mode == Mode::nearest) {
    add_tap(t, nearest_index(p.nearest, x, g.scale), 1.0, g);
  } else if (p.mode == Mode::linear) {
    const double xc = std::clamp(x, 0.0, last);
    const int64_t x0 = static_cast<int64_t>(std::floor(xc));
    const double w1 = xc - static_cast<double>(x0);
    add_tap(t, x0, 1 - w1, g);
    add_tap(t, x0 + 1, w1, g);
  } else {
    const int64_t x0 = static_cast<int64_t>(std::floor(x));
    std::array<double, 4> c = cubic_coeffs(x - static_cast<double>(x0), p.cubic_a);
    if (p.exclude_outside) {  // taps past the border get no weight; the rest are renormalised
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const int64_t idx = x0 - 1 + k;
        if (idx < 0 || idx >= g.len_in) c[k] = 0;
        sum += c[k];
      }
      for (double& v : c) v = sum != 0 ? v / sum : 0;
    }
    for (int k = 0; k < 4; ++k) add_tap(t, x0 - 1 + k, c[k], g);
  }
}

AxisTable build_axis(const Params& p, const AxisGeometry& g) {
  AxisTable t;
  t.first.push_back(0);
  for (int64_t i = 0; i < g.len_out; ++i) {
    const double x = original_coord(p.coord, static_cast<double>(i), g);
    const bool outside = p.coord == Coord::tf_crop_and_resize && (x < 0 || x > static_cast<double>(g.len_in - 1));
    t.outside.push_back(outside);
    if (!outside && g.len_in > 0) add_taps(t, p, x, g);
    t.first.push_back(static_cast<int64_t>(t.offset.size()));
  }
  return t;
}

template <typename E>
bool parse_enum(const std::string& s, std::initializer_list<std::pair<const char*, E>> names, E& out) {
  for (const auto& [name, value] : names)
    if (s == name) {
      out = value;
      return true;
    }
  return false;
}

Result<std::vector<double>> constant_floats(const PrepareContext& ctx, size_t i, std::string_view what) {
  const TensorInfo& in = ctx.input(i);
  if (!in.constant)
    return ctx.unsupported_error(what, " (input ", i, ") must be known before run (a constant)");
  if (!dtype_is_float(in.dtype)) return ctx.error(what, " (input ", i, ") has dtype ", dtype_name(in.dtype), ", expected float");
  std::vector<double> v(static_cast<size_t>(in.constant->numel()));
  for (size_t k = 0; k < v.size(); ++k) v[k] = view_get_f64(in.constant->view(), static_cast<int64_t>(k));
  return v;
}

template <typename T>
T to_out(double v) {
  if constexpr (std::is_integral_v<T>) {  // round, and saturate rather than overflow
    v = std::nearbyint(v);
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<T>::max());
    return static_cast<T>(v < lo ? lo : (v >= hi ? hi : v));
  } else {
    return static_cast<T>(v);
  }
}

class ResizeKernel final : public Kernel {
 public:
  explicit ResizeKernel(bool is_upsample) : is_upsample_(is_upsample) {}

  Status prepare(PrepareContext& ctx) override {
    EP_RETURN_IF_ERROR(check_inputs(ctx));
    const TensorInfo& x = ctx.input(0);
    if (!(x.dtype == DType::f32 || x.dtype == DType::f64 || x.dtype == DType::i32 || x.dtype == DType::i64 ||
          x.dtype == DType::i8 || x.dtype == DType::u8))
      return ctx.unsupported_error("dtype ", dtype_name(x.dtype));
    if (x.shape.rank() == 0 || x.shape.rank() > kMaxRank)
      return ctx.unsupported_error("input rank ", x.shape.rank(), " (supported: 1 to ", kMaxRank, ")");
    EP_RETURN_IF_ERROR(read_attrs(ctx));
    std::vector<AxisGeometry> geo(x.shape.rank());
    EP_RETURN_IF_ERROR(read_geometry(ctx, geo));
    std::vector<int64_t> out_dims;
    const std::vector<int64_t> strides = strides_of(x.shape);
    tables_.clear();
    for (size_t d = 0; d < geo.size(); ++d) {
      geo[d].stride = strides[d];
      if (geo[d].len_in == 0 && geo[d].len_out > 0) return ctx.error("cannot resize an empty axis ", d);
      out_dims.push_back(geo[d].len_out);
      tables_.push_back(build_axis(p_, geo[d]));
    }
    ctx.set_output(0, x.dtype, Shape(out_dims));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    const TensorView& x = ctx.inputs[0];
    const TensorView& y = ctx.outputs[0];
    dispatch<float, double, int32_t, int64_t, int8_t, uint8_t>(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      compute<T>(x.as<T>(), y);
    });
    return Status::ok();
  }

 private:
  Status check_inputs(const PrepareContext& ctx) const {
    if (is_upsample_) return ctx.expect_inputs(1, ctx.opset() >= 9 ? 2 : 1);
    if (ctx.opset() < 11) return ctx.expect_inputs(2, 2);
    return ctx.expect_inputs(1, 4);
  }

  Status read_attrs(const PrepareContext& ctx) {
    const ir::Node& n = ctx.node();
    const int opset = ctx.opset();
    EP_ASSIGN_OR_RETURN(std::string mode, n.attr_string("mode", std::string("nearest")));
    if (!parse_enum<Mode>(mode, {{"nearest", Mode::nearest}, {"linear", Mode::linear}, {"cubic", Mode::cubic}}, p_.mode) ||
        (p_.mode == Mode::cubic && (is_upsample_ || opset < 11)))
      return ctx.error("mode '", mode, "' is not supported at opset ", opset);
    if (is_upsample_ || opset < 11) {  // before Resize-11 coordinates were always x_out / scale
      p_.coord = Coord::asymmetric;
      p_.nearest = Nearest::simple;
      return Status::ok();
    }
    EP_ASSIGN_OR_RETURN(std::string coord, n.attr_string("coordinate_transformation_mode", std::string("half_pixel")));
    const bool ok = parse_enum<Coord>(coord, {{"half_pixel", Coord::half_pixel}, {"pytorch_half_pixel", Coord::pytorch_half_pixel},
                                             {"align_corners", Coord::align_corners}, {"asymmetric", Coord::asymmetric},
                                             {"tf_crop_and_resize", Coord::tf_crop_and_resize},
                                             {"tf_half_pixel_for_nn", Coord::tf_half_pixel_for_nn},
                                             {"half_pixel_symmetric", Coord::half_pixel_symmetric}}, p_.coord);
    if (!ok || (p_.coord == Coord::tf_half_pixel_for_nn && opset >= 13) ||
        (p_.coord == Coord::half_pixel_symmetric && opset < 19))
      return ctx.error("coordinate_transformation_mode '", coord, "' is not valid at opset ", opset);
    EP_ASSIGN_OR_RETURN(std::string nearest, n.attr_string("nearest_mode", std::string("round_prefer_floor")));
    if (!parse_enum<Nearest>(nearest, {{"round_prefer_floor", Nearest::round_prefer_floor}, {"round_prefer_ceil", Nearest::round_prefer_ceil},
                                      {"floor", Nearest::floor}, {"ceil", Nearest::ceil}}, p_.nearest))
      return ctx.error("nearest_mode '", nearest, "' is not valid");
    EP_ASSIGN_OR_RETURN(float a, n.attr_float("cubic_coeff_a", -0.75f));
    EP_ASSIGN_OR_RETURN(int64_t exclude, n.attr_int("exclude_outside", 0));
    EP_ASSIGN_OR_RETURN(float extrapolation, n.attr_float("extrapolation_value", 0.0f));
    EP_ASSIGN_OR_RETURN(int64_t antialias, n.attr_int("antialias", 0));
    if (antialias != 0) return ctx.unsupported_error("antialias=1");
    p_.cubic_a = a;
    p_.exclude_outside = exclude != 0;
    p_.extrapolation = extrapolation;
    return Status::ok();
  }

  // The axes that scales/sizes/roi refer to: all, or the opset-18 `axes` attribute.
  Result<std::vector<size_t>> read_axes(const PrepareContext& ctx, size_t rank) const {
    std::vector<size_t> axes;
    if (is_upsample_ || ctx.opset() < 18 || !ctx.node().has_attr("axes")) {
      for (size_t d = 0; d < rank; ++d) axes.push_back(d);
      return axes;
    }
    EP_ASSIGN_OR_RETURN(std::vector<int64_t> list, ctx.node().attr_ints("axes"));
    std::vector<bool> seen(rank, false);
    for (int64_t a : list) {
      EP_ASSIGN_OR_RETURN(int64_t ax, ctx.normalize_axis(a, static_cast<int64_t>(rank), "axes entry"));
      if (seen[ax]) return ctx.error("axis ", a, " is listed twice");
      seen[ax] = true;
      axes.push_back(static_cast<size_t>(ax));
    }
    return axes;
  }

  // Input slots of roi / scales / sizes in this version; SIZE_MAX when the version has none.
  void input_slots(int opset, size_t& roi, size_t& scales, size_t& sizes) const {
    roi = sizes = SIZE_MAX;
    scales = 1;
    if (!is_upsample_ && opset >= 11) {
      roi = 1;
      scales = 2;
      sizes = 3;
    }
  }

  Status read_geometry(const PrepareContext& ctx, std::vector<AxisGeometry>& geo) {
    const Shape& in = ctx.input(0).shape;
    for (size_t d = 0; d < geo.size(); ++d) geo[d].len_in = geo[d].len_out = in[d];
    EP_ASSIGN_OR_RETURN(std::vector<size_t> axes, read_axes(ctx, geo.size()));
    size_t roi_i, scales_i, sizes_i;
    input_slots(ctx.opset(), roi_i, scales_i, sizes_i);
    std::vector<double> scales;
    std::vector<int64_t> sizes;
    if (is_upsample_ && ctx.opset() < 9) {
      EP_ASSIGN_OR_RETURN(std::vector<float> s, ctx.node().attr_floats("scales"));
      scales.assign(s.begin(), s.end());
    } else if (ctx.has_input(scales_i) && ctx.input(scales_i).shape.numel() != 0) {
      EP_ASSIGN_OR_RETURN(scales, constant_floats(ctx, scales_i, "scales"));
    }
    if (sizes_i != SIZE_MAX && ctx.has_input(sizes_i) && ctx.input(sizes_i).shape.numel() != 0) {
      EP_ASSIGN_OR_RETURN(sizes, constant_ints(ctx, sizes_i, "sizes"));
    }
    if (scales.empty() == sizes.empty()) return ctx.error("exactly one of scales and sizes must be given");
    if (p_.coord == Coord::tf_crop_and_resize) EP_RETURN_IF_ERROR(read_roi(ctx, roi_i, axes, geo));
    if (!scales.empty()) return apply_scales(ctx, axes, scales, geo);
    return apply_sizes(ctx, axes, sizes, geo);
  }

  Status read_roi(const PrepareContext& ctx, size_t roi_i, const std::vector<size_t>& axes,
                  std::vector<AxisGeometry>& geo) const {
    if (!ctx.has_input(roi_i)) return ctx.error("tf_crop_and_resize needs the roi input");
    EP_ASSIGN_OR_RETURN(std::vector<double> roi, constant_floats(ctx, roi_i, "roi"));
    if (roi.size() != 2 * axes.size()) return ctx.error("roi has ", roi.size(), " values, expected ", 2 * axes.size());
    for (size_t k = 0; k < axes.size(); ++k) {
      geo[axes[k]].roi_start = roi[k];
      geo[axes[k]].roi_end = roi[axes.size() + k];
    }
    return Status::ok();
  }

  Status apply_scales(const PrepareContext& ctx, const std::vector<size_t>& axes, const std::vector<double>& scales,
                      std::vector<AxisGeometry>& geo) const {
    if (scales.size() != axes.size()) return ctx.error("scales has ", scales.size(), " values, expected ", axes.size());
    for (size_t k = 0; k < axes.size(); ++k) {
      AxisGeometry& g = geo[axes[k]];
      const double s = scales[k];
      if (!(s > 0) || !std::isfinite(s)) return ctx.error("scale ", s, " must be positive");
      if (is_upsample_ && s < 1) return ctx.error("Upsample scale ", s, " is below 1");
      const double out = std::floor(static_cast<double>(g.len_in) * s);
      if (out > static_cast<double>(int64_t{1} << 40)) return ctx.error("output dim ", out, " is too large");
      g.scale = s;
      g.len_out = static_cast<int64_t>(out);
    }
    return Status::ok();
  }

  Status apply_sizes(const PrepareContext& ctx, const std::vector<size_t>& axes, const std::vector<int64_t>& sizes,
                     std::vector<AxisGeometry>& geo) const {
    if (sizes.size() != axes.size()) return ctx.error("sizes has ", sizes.size(), " values, expected ", axes.size());
    std::string policy = "stretch";
    if (ctx.opset() >= 18) {
      EP_ASSIGN_OR_RETURN(policy, ctx.node().attr_string("keep_aspect_ratio_policy", std::string("stretch")));
    }
    if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
      return ctx.error("keep_aspect_ratio_policy '", policy, "' is not valid");
    double uniform = policy == "not_larger" ? INFINITY : 0;
    for (size_t k = 0; k < axes.size(); ++k) {
      if (sizes[k] < 0 || sizes[k] > (int64_t{1} << 40)) return ctx.error("size ", sizes[k], " is out of range");
      const double r = geo[axes[k]].len_in == 0 ? 1.0 : static_cast<double>(sizes[k]) / static_cast<double>(geo[axes[k]].len_in);
      uniform = policy == "not_larger" ? std::min(uniform, r) : std::max(uniform, r);
    }
    for (size_t k = 0; k < axes.size(); ++k) {
      AxisGeometry& g = geo[axes[k]];
      if (policy == "stretch") {
        g.len_out = sizes[k];
        g.scale = g.len_in == 0 ? 1.0 : static_cast<double>(sizes[k]) / static_cast<double>(g.len_in);
      } else {
        g.scale = uniform;
        g.len_out = static_cast<int64_t>(std::round(uniform * static_cast<double>(g.len_in)));
      }
      if (g.len_out > 0 && !(g.scale > 0)) return ctx.error("size ", sizes[k], " gives a zero scale");
    }
    return Status::ok();
  }

  template <typename T>
  void compute(const T* px, const TensorView& y) const {
    T* py = y.as<T>();
    const size_t rank = tables_.size();
    const int64_t total = y.numel();
    std::array<int64_t, kMaxRank> idx{}, tap{};
    for (int64_t i = 0; i < total; ++i) {
      bool outside = false;
      for (size_t d = 0; d < rank; ++d) outside = outside || tables_[d].outside[idx[d]];
      py[i] = outside ? to_out<T>(p_.extrapolation) : blend<T>(px, idx, tap);
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < y.shape[d]) break;
        idx[d] = 0;
      }
    }
  }

  // Sums weight products over every combination of taps of the axes at output index idx.
  template <typename T>
  T blend(const T* px, const std::array<int64_t, kMaxRank>& idx, std::array<int64_t, kMaxRank>& tap) const {
    const size_t rank = tables_.size();
    for (size_t d = 0; d < rank; ++d) {
      tap[d] = tables_[d].first[idx[d]];
      if (tap[d] == tables_[d].first[idx[d] + 1]) return T(0);  // every weight was zero
    }
    if (p_.mode == Mode::nearest) {  // one tap per axis: copy exactly, no trip through double
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d) off += tables_[d].offset[tap[d]];
      return px[off];
    }
    double sum = 0;
    for (;;) {
      int64_t off = 0;
      double w = 1;
      for (size_t d = 0; d < rank; ++d) {
        off += tables_[d].offset[tap[d]];
        w *= tables_[d].weight[tap[d]];
      }
      sum += w * static_cast<double>(px[off]);
      size_t d = rank;
      while (d-- > 0) {
        if (++tap[d] < tables_[d].first[idx[d] + 1]) break;
        tap[d] = tables_[d].first[idx[d]];
      }
      if (d == SIZE_MAX) break;
    }
    return to_out<T>(sum);
  }

  bool is_upsample_;
  Params p_;
  std::vector<AxisTable> tables_;
};

}  // namespace

std::unique_ptr<Kernel> make_resize() { return std::make_unique<ResizeKernel>(false); }
std::unique_ptr<Kernel> make_upsample() { return std::make_unique<ResizeKernel>(true); }

}  // namespace ep::kernels::ref
