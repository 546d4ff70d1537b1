// ConvTranspose (GEMM + col2im) against a direct scatter loop, plus output_shape / SAME cases.
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

int64_t rnd(std::mt19937& r, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(r); }

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

std::vector<int64_t> unravel(int64_t flat, const std::vector<int64_t>& dims) {
  std::vector<int64_t> idx(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    idx[i] = flat % dims[i];
    flat /= dims[i];
  }
  return idx;
}

struct DeconvCase {
  int64_t n = 1, group = 1, cg = 1, mg = 1;
  std::vector<int64_t> in, k, s, d, pb, pe, op, out;
};

// Every input element scatters x * w into the output window it maps to.
Tensor scatter_deconv(const DeconvCase& c, const Tensor& x, const Tensor& w, const Tensor* b) {
  const size_t rank = c.in.size();
  const int64_t cin = c.cg * c.group, m = c.mg * c.group;
  std::vector<int64_t> ydims = {c.n, m};
  ydims.insert(ydims.end(), c.out.begin(), c.out.end());
  std::vector<double> acc(static_cast<size_t>(product(ydims)), 0.0);
  const int64_t isz = product(c.in), ksz = product(c.k), osz = product(c.out);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t ic = 0; ic < cin; ++ic)
      for (int64_t i = 0; i < isz; ++i) {
        const std::vector<int64_t> ii = unravel(i, c.in);
        const double xv = x.as<float>()[(n * cin + ic) * isz + i];
        const int64_t g = ic / c.cg;
        for (int64_t om = 0; om < c.mg; ++om)
          for (int64_t kf = 0; kf < ksz; ++kf) {
            const std::vector<int64_t> ki = unravel(kf, c.k);
            int64_t at = 0;
            bool inside = true;
            for (size_t a = 0; a < rank; ++a) {
              const int64_t p = ii[a] * c.s[a] - c.pb[a] + ki[a] * c.d[a];
              inside = inside && p >= 0 && p < c.out[a];
              at = at * c.out[a] + p;
            }
            if (inside) acc[(n * m + g * c.mg + om) * osz + at] += xv * w.as<float>()[(ic * c.mg + om) * ksz + kf];
          }
      }
  Tensor y(DType::f32, Shape(ydims));
  for (size_t i = 0; i < acc.size(); ++i)
    y.as<float>()[i] = static_cast<float>(acc[i] + (b ? b->as<float>()[(i / osz) % m] : 0.0));
  return y;
}

TEST(RefConvTranspose, MatchesScatterLoopOnRandomGeometries) {
  for (uint32_t seed = 1; seed <= 120; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 r(seed);
    DeconvCase c;
    const size_t rank = static_cast<size_t>(rnd(r, 1, 3));
    c.n = rnd(r, 1, 2);
    c.group = rnd(r, 1, 3);
    c.cg = rnd(r, 1, 3);
    c.mg = rnd(r, 1, 3);
    for (size_t i = 0; i < rank; ++i) {
      c.in.push_back(rnd(r, 1, rank == 3 ? 3 : 5));
      c.k.push_back(rnd(r, 1, 3));
      c.s.push_back(rnd(r, 1, 3));
      c.d.push_back(rnd(r, 1, 2));
      c.op.push_back(rnd(r, 0, std::max(c.s[i], c.d[i]) - 1));
      const int64_t full = c.s[i] * (c.in[i] - 1) + c.op[i] + (c.k[i] - 1) * c.d[i] + 1;
      c.pb.push_back(rnd(r, 0, std::min<int64_t>(2, (full - 1) / 2)));
      c.pe.push_back(rnd(r, 0, std::min<int64_t>(2, (full - 1) / 2)));
      c.out.push_back(full - c.pb[i] - c.pe[i]);
    }
    std::vector<int64_t> xd = {c.n, c.cg * c.group}, wd = {c.cg * c.group, c.mg};
    xd.insert(xd.end(), c.in.begin(), c.in.end());
    wd.insert(wd.end(), c.k.begin(), c.k.end());
    const Tensor x = random_tensor(Shape(xd), seed * 3), w = random_tensor(Shape(wd), seed * 3 + 1);
    const Tensor b = random_tensor(Shape{c.mg * c.group}, seed * 3 + 2);
    std::vector<int64_t> pads = c.pb;
    pads.insert(pads.end(), c.pe.begin(), c.pe.end());
    NodeUnderTest t("ConvTranspose", 3);
    t.attr("group", c.group).attr("strides", c.s).attr("dilations", c.d).attr("pads", pads).attr("output_padding", c.op);
    const bool bias = seed % 2 == 0;
    auto out = t.run({&x, &w, bias ? &b : nullptr});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    expect_close(out.value()[0], scatter_deconv(c, x, w, bias ? &b : nullptr), 1e-4, 1e-4);
  }
}

// auto_pad SAME_UPPER: output = input * stride, the odd padding unit goes at the end.
TEST(RefConvTranspose, SameUpperAndOutputShape) {
  const Tensor x = random_tensor(Shape{1, 1, 3, 3}, 5), w = random_tensor(Shape{1, 2, 3, 3}, 6);
  DeconvCase c;
  c.in = {3, 3};
  c.k = {3, 3};
  c.s = {2, 2};
  c.d = {1, 1};
  c.pb = {0, 0};
  c.out = {6, 6};
  NodeUnderTest same("ConvTranspose", 2);
  same.attr("auto_pad", std::string("SAME_UPPER")).attr("strides", c.s);
  auto out = same.run({&x, &w});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  c.mg = 2;
  expect_close(out.value()[0], scatter_deconv(c, x, w, nullptr));
  // output_shape larger than the full result: the tail is left at zero (no bias).
  NodeUnderTest shaped("ConvTranspose", 2);
  shaped.attr("output_shape", std::vector<int64_t>{8, 8}).attr("strides", c.s);
  c.out = {8, 8};
  out = shaped.run({&x, &w});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_close(out.value()[0], scatter_deconv(c, x, w, nullptr));
}

TEST(RefConvTranspose, RejectsBadOutputPadding) {
  const Tensor x = random_tensor(Shape{1, 1, 3, 3}, 5), w = random_tensor(Shape{1, 2, 3, 3}, 6);
  NodeUnderTest t("ConvTranspose", 2);
  t.attr("output_padding", std::vector<int64_t>{1, 1});  // stride 1: must be 0
  EXPECT_EQ(t.run({&x, &w}).status().code(), StatusCode::invalid_model);
}

}  // namespace
}  // namespace ep::testing
