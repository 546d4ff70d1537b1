// Conv (im2col + GEMM) against a direct loop convolution on seeded random geometries.
#include <chrono>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

struct ConvCase {
  int64_t n = 1, group = 1, cg = 1, mg = 1;
  std::vector<int64_t> in, k, s, d, pb, pe;
  std::string auto_pad = "NOTSET";
  bool bias = true;
};

int64_t rnd(std::mt19937& r, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(r); }

ConvCase random_case(uint32_t seed) {
  std::mt19937 r(seed);
  ConvCase c;
  const size_t rank = static_cast<size_t>(rnd(r, 1, 3));
  c.n = rnd(r, 1, 2);
  const int64_t kind = rnd(r, 0, 3);  // 0: plain, 1: grouped, 2: depthwise, 3: 1x1
  c.group = kind == 1 ? rnd(r, 2, 3) : kind == 2 ? rnd(r, 2, 4) : 1;
  c.cg = kind == 2 ? 1 : rnd(r, 1, 4);
  c.mg = rnd(r, 1, 4);
  const char* pads[] = {"NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  c.auto_pad = pads[rnd(r, 0, 4)];
  c.bias = rnd(r, 0, 1) == 1;
  for (size_t i = 0; i < rank; ++i) {
    c.k.push_back(kind == 3 ? 1 : rnd(r, 1, 3));
    c.s.push_back(kind == 3 ? 1 : rnd(r, 1, 3));
    c.d.push_back(kind == 3 ? 1 : rnd(r, 1, 2));
    c.pb.push_back(c.auto_pad == "NOTSET" && kind != 3 ? rnd(r, 0, 2) : 0);
    c.pe.push_back(c.auto_pad == "NOTSET" && kind != 3 ? rnd(r, 0, 2) : 0);
    c.in.push_back((c.k[i] - 1) * c.d[i] + 1 + rnd(r, 0, rank == 3 ? 3 : 6));
  }
  return c;
}

// Output size and begin pad of one spatial dim, straight from the ONNX spec.
void out_geometry(const ConvCase& c, size_t i, int64_t& out, int64_t& pad) {
  const int64_t ext = (c.k[i] - 1) * c.d[i] + 1;
  if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
    out = (c.in[i] + c.s[i] - 1) / c.s[i];
    const int64_t total = std::max<int64_t>(0, (out - 1) * c.s[i] + ext - c.in[i]);
    pad = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
  } else if (c.auto_pad == "VALID") {
    out = (c.in[i] - ext) / c.s[i] + 1;
    pad = 0;
  } else {
    out = (c.in[i] + c.pb[i] + c.pe[i] - ext) / c.s[i] + 1;
    pad = c.pb[i];
  }
}

// Unravels a flat index over `dims` (row-major).
std::vector<int64_t> unravel(int64_t flat, const std::vector<int64_t>& dims) {
  std::vector<int64_t> idx(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    idx[i] = flat % dims[i];
    flat /= dims[i];
  }
  return idx;
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

// The 7-loop convolution, generalised to any rank by flat spatial indices.
Tensor direct_conv(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor* b) {
  const size_t rank = c.in.size();
  std::vector<int64_t> out(rank), pad(rank);
  for (size_t i = 0; i < rank; ++i) out_geometry(c, i, out[i], pad[i]);
  const int64_t cin = c.cg * c.group, m = c.mg * c.group;
  std::vector<int64_t> ydims = {c.n, m};
  ydims.insert(ydims.end(), out.begin(), out.end());
  Tensor y(DType::f32, Shape(ydims));
  const int64_t osz = product(out), isz = product(c.in), ksz = product(c.k);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t o = 0; o < osz; ++o) {
        const std::vector<int64_t> oi = unravel(o, out);
        double acc = b ? b->as<float>()[oc] : 0.0;
        const int64_t g = oc / c.mg;
        for (int64_t ic = 0; ic < c.cg; ++ic)
          for (int64_t kf = 0; kf < ksz; ++kf) {
            const std::vector<int64_t> ki = unravel(kf, c.k);
            int64_t at = 0;
            bool inside = true;
            for (size_t i = 0; i < rank; ++i) {
              const int64_t p = oi[i] * c.s[i] - pad[i] + ki[i] * c.d[i];
              inside = inside && p >= 0 && p < c.in[i];
              at = at * c.in[i] + p;
            }
            if (!inside) continue;
            acc += static_cast<double>(x.as<float>()[(n * cin + g * c.cg + ic) * isz + at]) *
                   w.as<float>()[(oc * c.cg + ic) * ksz + kf];
          }
        y.as<float>()[(n * m + oc) * osz + o] = static_cast<float>(acc);
      }
  return y;
}

NodeUnderTest conv_node(const ConvCase& c) {
  NodeUnderTest t("Conv", 3);
  t.attr("group", c.group).attr("strides", c.s).attr("dilations", c.d);
  if (c.auto_pad == "NOTSET") {
    std::vector<int64_t> pads = c.pb;
    pads.insert(pads.end(), c.pe.begin(), c.pe.end());
    t.attr("pads", pads);
  } else {
    t.attr("auto_pad", c.auto_pad);
  }
  return t;
}

TEST(RefConv, MatchesDirectLoopOnRandomGeometries) {
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const ConvCase c = random_case(seed);
    std::vector<int64_t> xd = {c.n, c.cg * c.group}, wd = {c.mg * c.group, c.cg};
    xd.insert(xd.end(), c.in.begin(), c.in.end());
    wd.insert(wd.end(), c.k.begin(), c.k.end());
    const Tensor x = random_tensor(Shape(xd), seed * 3);
    const Tensor w = random_tensor(Shape(wd), seed * 3 + 1);
    const Tensor b = random_tensor(Shape{c.mg * c.group}, seed * 3 + 2);
    NodeUnderTest t = conv_node(c);
    auto out = t.run({&x, &w, c.bias ? &b : nullptr});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    expect_close(out.value()[0], direct_conv(c, x, w, c.bias ? &b : nullptr), 1e-4, 1e-4);
  }
}

TEST(RefConv, DoubleMatchesFloat) {
  const Tensor x = random_tensor(Shape{1, 2, 5, 5}, 7), w = random_tensor(Shape{3, 2, 3, 3}, 8);
  Tensor xd(DType::f64, x.shape()), wd(DType::f64, w.shape());
  for (int64_t i = 0; i < x.numel(); ++i) xd.as<double>()[i] = x.as<float>()[i];
  for (int64_t i = 0; i < w.numel(); ++i) wd.as<double>()[i] = w.as<float>()[i];
  NodeUnderTest t("Conv", 2);
  t.attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto f = t.run({&x, &w});
  auto d = t.run({&xd, &wd});
  ASSERT_TRUE(f.is_ok() && d.is_ok());
  ASSERT_EQ(d.value()[0].dtype(), DType::f64);
  for (int64_t i = 0; i < f.value()[0].numel(); ++i)
    EXPECT_NEAR(f.value()[0].as<float>()[i], d.value()[0].as<double>()[i], 1e-5);
}

TEST(RefConv, RejectsBadModels) {
  const Tensor x = random_tensor(Shape{1, 4, 5, 5}, 1);
  const Tensor w_bad_c = random_tensor(Shape{2, 3, 3, 3}, 2);
  const Tensor w = random_tensor(Shape{2, 4, 3, 3}, 2);
  const Tensor w_big = random_tensor(Shape{2, 4, 7, 7}, 2);
  const Tensor bias_bad = random_tensor(Shape{3}, 3);
  NodeUnderTest t("Conv", 3);
  EXPECT_EQ(t.run({&x, &w_bad_c, nullptr}).status().code(), StatusCode::invalid_model);
  EXPECT_EQ(t.run({&x, &w_big, nullptr}).status().code(), StatusCode::invalid_model);
  EXPECT_EQ(t.run({&x, &w, &bias_bad}).status().code(), StatusCode::invalid_model);
  NodeUnderTest g("Conv", 2);
  g.attr("group", int64_t{3});
  EXPECT_EQ(g.run({&x, &w}).status().code(), StatusCode::invalid_model);
  NodeUnderTest s("Conv", 2);
  s.attr("strides", std::vector<int64_t>{0, 1});
  auto r = s.run({&x, &w});
  EXPECT_EQ(r.status().code(), StatusCode::invalid_model);
  EXPECT_NE(r.status().message().find("node 'n0' (Conv)"), std::string::npos) << r.status().message();
}

// Not a correctness test: prints the GFLOP/s of the reference conv on detector-like layers.
TEST(RefConv, DISABLED_Throughput) {
  struct Layer { const char* name; Shape x, w; int64_t group, stride, pad; };
  const Layer layers[] = {
      {"stem 3->32 3x3/2 @640", Shape{1, 3, 640, 640}, Shape{32, 3, 3, 3}, 1, 2, 1},
      {"3x3 32->32 @160", Shape{1, 32, 160, 160}, Shape{32, 32, 3, 3}, 1, 1, 1},
      {"1x1 64->128 @80", Shape{1, 64, 80, 80}, Shape{128, 64, 1, 1}, 1, 1, 0},
      {"depthwise 5x5 128 @40", Shape{1, 128, 40, 40}, Shape{128, 1, 5, 5}, 128, 1, 2},
  };
  for (const Layer& l : layers) {
    const Tensor x = random_tensor(l.x, 1), w = random_tensor(l.w, 2);
    NodeUnderTest t("Conv", 2);
    t.attr("group", l.group).attr("strides", std::vector<int64_t>{l.stride, l.stride});
    t.attr("pads", std::vector<int64_t>(4, l.pad));
    const auto t0 = std::chrono::steady_clock::now();
    auto out = t.run({&x, &w});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(out.is_ok());
    const double flop = 2.0 * static_cast<double>(out.value()[0].numel()) * static_cast<double>(l.w.numel() / l.w[0]);
    std::printf("%-24s %7.1f ms %6.2f GFLOP/s\n", l.name, s * 1e3, flop / s / 1e9);
  }
}

}  // namespace
}  // namespace ep::testing
